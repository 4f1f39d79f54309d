"""Settings → Ladders: the levels as a visual path, create, edit (errors named by level),
deactivate; staff may look, only admins save."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from escalada.escalations.ladder_views import LadderForm, levels_text
from escalada.escalations.models import Ladder
from escalada.escalations.services import LadderData, ladder_create
from tests.app.conftest import World, database_state
from tests.app.sla.scenario import berlin_calendar, standard_policy

pytestmark = pytest.mark.django_db

LEVELS: list[dict[str, Any]] = [
    {
        "trigger": "metric_warning",
        "metric": "resolution",
        "offset_minutes": 0,
        "actions": [{"type": "notify", "to": ["team_leads"]}],
    },
    {
        "trigger": "metric_breach",
        "metric": "resolution",
        "offset_minutes": 90,
        "repeat_every_minutes": 15,
        "actions": [{"type": "assign_escalation_manager"}, {"type": "notify_customer"}],
    },
]


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def card(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">(.*?)</li>\s*(?:<li class|</ol>)', html, re.S)
    assert found is not None, element_id
    return words(found.group(1))


def make(name: str = "Standard ladder", **extra: Any) -> Ladder:
    data: LadderData = {"name": name, "levels": LEVELS}
    data.update(extra)  # type: ignore[typeddict-item]
    return ladder_create(data=data, actor=None)


def test_the_list_shows_each_ladder_as_a_path_in_words(
    world: World, web_as: dict[str, Client], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    policy = standard_policy(berlin_calendar())
    first = make(policy=policy)
    with django_assert_num_queries(8):
        page = web_as["sam"].get("/settings/ladders/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Only admins change ladders." in html
    assert "Deactivate" not in html  # agents look, they do not change
    assert card(html, f"ladder-{first.pk}-level-1") == (
        "Level 1 When the resolution target is about to be missed (warning) at once notify team leads once"
    )
    assert card(html, f"ladder-{first.pk}-level-2") == (
        "Level 2 When the resolution target is missed (breach) + 1 h 30 min (business time) "
        "assign the escalation manager tell the customer a specialist team has the request "
        "repeats every 15 min until acknowledged"
    )
    assert f"For the tickets of the SLA policy {policy.name} · version 1" in words(html)

    # More ladders cost no more queries.
    make("Second", rank=5, levels=[{"trigger": "unresolved_for", "offset_minutes": 2880, "actions": [{"type": "webhook"}]}])
    make("Third", is_active=False)
    with django_assert_num_queries(8):
        again = web_as["sam"].get("/settings/ladders/").content.decode()
    assert again.count('class="card ladder-level"') == 5
    assert "Stands alone, rank 5, every ticket · version 1" in words(again)


def test_admins_create_a_ladder_and_bad_levels_are_named_by_level(world: World, web_as: dict[str, Client]) -> None:
    before = database_state()
    backwards = [
        {"trigger": "metric_breach", "metric": "resolution", "offset_minutes": 60, "actions": [{"type": "raise_tier"}]},
        {
            "trigger": "metric_breach",
            "metric": "resolution",
            "offset_minutes": 30,
            "actions": [{"type": "assign_team", "team_id": 999}],
        },
    ]
    data = {"name": "Finance ladder", "rank": "100", "is_active": "on", "levels": json.dumps(backwards)}
    refused = web_as["sam"].post("/settings/ladders/new/", data)
    assert (refused.status_code, "Only admins change escalation ladders." in refused.content.decode()) == (403, True)
    bad = web_as["admin"].post("/settings/ladders/new/", data)
    html = bad.content.decode()
    assert bad.status_code == 422
    levels_field = html.split('for="id_levels"')[1].split("</div>")[0]
    assert "Level 2, action 1: assign_team: there is no team 999." in levels_field
    assert "Level 2: Its offset (0:30:00) is earlier than an earlier level&#x27;s on the same trigger (1:00:00)" in levels_field
    not_json = web_as["admin"].post("/settings/ladders/new/", {**data, "levels": "[{"})
    assert not_json.status_code == 422
    assert "This is not valid JSON" in not_json.content.decode().split('for="id_levels"')[1]
    nameless = web_as["admin"].post("/settings/ladders/new/", {**data, "name": " ", "levels": json.dumps(LEVELS)})
    assert nameless.status_code == 422
    assert "This field is required." in nameless.content.decode().split('for="id_name"')[1].split("</div>")[0]
    assert database_state() == before

    made = web_as["admin"].post("/settings/ladders/new/", {**data, "levels": json.dumps(LEVELS)})
    ladder = Ladder.objects.get()
    assert (made.status_code, made["Location"]) == (302, f"/settings/ladders/{ladder.pk}/")
    assert (ladder.name, ladder.policy_id, ladder.rank, ladder.conditions, ladder.is_active, ladder.levels, ladder.version) == (
        "Finance ladder",
        None,
        100,
        [],
        True,
        LEVELS,
        1,
    )


def test_admins_edit_levels_and_see_the_path(world: World, web_as: dict[str, Client]) -> None:
    ladder = make()
    page = web_as["sam"].get(f"/settings/ladders/{ladder.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "disabled" in html.split('name="levels"')[1].split(">")[0]
    assert levels_text(LEVELS).replace('"', "&quot;") in html
    initial = LadderForm.initial_of(ladder)
    changed = [LEVELS[0], {**LEVELS[1], "offset_minutes": 120, "actions": [{"type": "set_priority", "priority": "urgent"}]}]
    post = {**initial, "policy": "", "is_active": "on", "levels": levels_text(changed)}
    before = database_state()
    assert web_as["sam"].post(f"/settings/ladders/{ladder.pk}/", post).status_code == 403
    taken = make("Taken")
    before = database_state()
    clash = web_as["admin"].post(f"/settings/ladders/{ladder.pk}/", {**post, "name": "taken"})
    assert clash.status_code == 422
    assert "A ladder named &#x27;taken&#x27; exists already." in clash.content.decode().split('for="id_name"')[1]
    assert database_state() == before

    saved = web_as["admin"].post(f"/settings/ladders/{ladder.pk}/", post)
    assert saved.status_code == 302
    ladder.refresh_from_db()
    assert (ladder.levels, ladder.version, ladder.name, ladder.is_active) == (changed, 2, "Standard ladder", True)
    taken.refresh_from_db()
    assert taken.version == 1
    shown = web_as["admin"].get(f"/settings/ladders/{ladder.pk}/").content.decode()
    assert card(shown, "level-2") == (
        "Level 2 When the resolution target is missed (breach) + 2 h (business time) set the priority to urgent "
        "repeats every 15 min until acknowledged"
    )
    assert "version 2" in shown


def test_admins_deactivate_a_ladder_agents_cannot(world: World, web_as: dict[str, Client]) -> None:
    ladder = make()
    before = database_state()
    assert web_as["sam"].post(f"/settings/ladders/{ladder.pk}/active", {"is_active": "0"}).status_code == 403
    assert web_as["ana"].get("/settings/ladders/").status_code == 403
    assert database_state() == before
    off = web_as["admin"].post(f"/settings/ladders/{ladder.pk}/active", {"is_active": "0"})
    assert off.status_code == 302
    ladder.refresh_from_db()
    assert (ladder.is_active, ladder.version) == (False, 2)
    page = web_as["admin"].get("/settings/ladders/").content.decode()
    assert "Standard ladder inactive" in words(page)
    web_as["admin"].post(f"/settings/ladders/{ladder.pk}/active", {"is_active": "1"})
    ladder.refresh_from_db()
    assert ladder.is_active is True
    assert web_as["admin"].get("/settings/ladders/999/").status_code == 404
