"""Settings → People and teams: teams (tiers, description, transfer target) and people (role,
teams, tier, active); staff look, admins change, through the accounts services."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from escalada.accounts.models import Team
from escalada.accounts.selectors import user_role
from escalada.audit.models import Event
from tests.app.conftest import World, database_state
from tests.app.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.django_db


def row(page: str, element_id: str) -> str:
    found = re.search(rf'<tr id="{element_id}"[^>]*>(.*?)</tr>', page, re.S)
    assert found is not None, element_id
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def errors_of(page: str, field_id: str) -> str:
    return page.split(f'for="id_{field_id}"')[1].split("</div>")[0]


def test_the_page_lists_teams_and_people_without_a_query_per_row(
    world: World, web_as: dict[str, Client], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(6):
        page = web_as["admin"].get("/settings/people/").content.decode()
    assert row(page, f"team-{world.finance.pk}") == "Finance L1–L2 none 1 —"
    assert row(page, f"user-{world.sam.user.pk}") == "sam Sam Carter Agent Support L1 yes"
    assert row(page, f"user-{world.morgan.user.pk}") == "morgan — Escalation manager — L3 yes"
    assert row(page, f"user-{world.admin.pk}") == "admin — Admin — — yes"
    assert row(page, f"user-{world.ana_user.pk}") == "ana — Customer — — yes"
    for n in range(3):
        AgentFactory.create(user=UserFactory.create(username=f"extra{n}"), teams=[world.support, world.finance])
        Team.objects.create(name=f"Team {n}", slug=f"team-{n}")
    with django_assert_num_queries(6):
        again = web_as["admin"].get("/settings/people/").content.decode()
    assert row(again, f"team-{world.support.pk}") == "Support L1–L3 none 4 —"
    agents_view = web_as["sam"].get("/settings/people/").content.decode()
    assert "Only admins change these." in agents_view
    assert 'name="form"' not in agents_view


def test_admins_create_and_change_teams(world: World, web_as: dict[str, Client]) -> None:
    before = database_state()
    new = {
        "form": "team-new",
        "team-new-name": "Engineering",
        "team-new-tier_count": "2",
        "team-new-transfer_target_minutes": "120",
    }
    assert web_as["sam"].post("/settings/people/", new).status_code == 403
    taken = web_as["admin"].post("/settings/people/", {**new, "team-new-name": "finance"})
    assert (
        taken.status_code,
        "A team named &#x27;finance&#x27; exists already." in errors_of(taken.content.decode(), "team-new-name"),
    ) == (
        422,
        True,
    )
    tiers = web_as["admin"].post("/settings/people/", {**new, "team-new-tier_count": "12"})
    assert tiers.status_code == 422
    assert "Ensure this value is less than or equal to 9." in errors_of(tiers.content.decode(), "team-new-tier_count")
    assert database_state() == before
    assert web_as["admin"].post("/settings/people/", new).status_code == 302
    engineering = Team.objects.get(name="Engineering")
    assert (engineering.slug, engineering.tier_count, engineering.transfer_target_minutes, engineering.description) == (
        "engineering",
        2,
        120,
        "",
    )
    prefix = f"team-{world.finance.pk}"
    change = {
        "form": prefix,
        f"{prefix}-name": "Finance and billing",
        f"{prefix}-tier_count": "3",
        f"{prefix}-description": "Invoices.",
        f"{prefix}-transfer_target_minutes": "",
    }
    before = database_state()
    clash = web_as["admin"].post("/settings/people/", {**change, f"{prefix}-name": "Engineering"})
    assert "A team named &#x27;Engineering&#x27; exists already." in errors_of(clash.content.decode(), f"{prefix}-name")
    assert database_state() == before
    assert web_as["admin"].post("/settings/people/", change).status_code == 302
    world.finance.refresh_from_db()
    assert (world.finance.name, world.finance.slug, world.finance.tier_count, world.finance.description) == (
        "Finance and billing",
        "finance",
        3,
        "Invoices.",
    )
    event = Event.objects.get(kind="team.updated")
    assert event.after == {"name": "Finance and billing", "tier_count": 3, "description": "Invoices."}


def test_admins_change_roles_teams_tiers_and_active(world: World, web_as: dict[str, Client]) -> None:
    sam = world.sam.user
    prefix = f"user-{sam.pk}"
    change = {
        "form": prefix,
        f"{prefix}-role": "team_lead",
        f"{prefix}-teams": [world.support.pk, world.finance.pk],
        f"{prefix}-tier": "2",
        f"{prefix}-is_active": "on",
    }
    before = database_state()
    assert web_as["fin"].post("/settings/people/", change).status_code == 403
    too_high = web_as["admin"].post("/settings/people/", {**change, f"{prefix}-teams": [world.finance.pk], f"{prefix}-tier": "3"})
    assert too_high.status_code == 422
    assert "Tier 3 is above the tiers of Finance (L1–L2)." in errors_of(too_high.content.decode(), f"{prefix}-tier")
    customer = f"user-{world.ana_user.pk}"
    refused = web_as["admin"].post(
        "/settings/people/",
        {"form": customer, f"{customer}-role": "agent", f"{customer}-tier": "1", f"{customer}-is_active": "on"},
    )
    assert "A customer&#x27;s login has no support role" in errors_of(refused.content.decode(), f"{customer}-role")
    me = f"user-{world.admin.pk}"
    myself = web_as["admin"].post("/settings/people/", {"form": me, f"{me}-role": "agent", f"{me}-tier": "1"})
    assert "You cannot take away your own admin access; ask another admin." in errors_of(myself.content.decode(), f"{me}-role")
    assert database_state() == before

    assert web_as["admin"].post("/settings/people/", change).status_code == 302
    world.sam.refresh_from_db()
    assert (user_role(user=sam), world.sam.tier, sorted(t.name for t in world.sam.teams.all())) == (
        "team_lead",
        2,
        ["Finance", "Support"],
    )
    off = web_as["admin"].post("/settings/people/", {**change, f"{prefix}-is_active": ""})
    assert off.status_code == 302
    sam.refresh_from_db()
    assert (sam.is_active, user_role(user=sam)) == (False, None)
    event = Event.objects.filter(kind="user.access_changed", subject_id=sam.pk).order_by("seq").last()
    assert event is not None
    assert (event.before, event.after) == ({"is_active": True}, {"is_active": False})
