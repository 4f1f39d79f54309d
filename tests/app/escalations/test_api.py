"""The ladder API: 422s naming the level, a ticket's next step, acknowledge and re-apply."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from escalada.worker import Worker
from tests.app.conftest import World, database_state
from tests.app.sla.scenario import berlin, berlin_calendar, open_ticket, standard_policy

pytestmark = pytest.mark.django_db

LEVELS = [
    {
        "trigger": "unresolved_for",
        "offset_minutes": 60,
        "business_time": False,
        "repeat_every_minutes": 15,
        "actions": [{"type": "notify", "to": ["team_leads"]}],
    },
    {
        "trigger": "metric_breach",
        "metric": "resolution",
        "offset_minutes": 0,
        "actions": [{"type": "raise_priority"}, {"type": "notify_customer"}],
    },
]


def post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def test_ladders_and_a_tickets_escalation(world: World, api_as: dict[str, Client]) -> None:
    policy = standard_policy(berlin_calendar())
    before = database_state()
    bad = post(
        api_as["admin"],
        "/api/v1/escalation-ladders",
        {"name": "L", "policy_id": policy.pk, "levels": [{**LEVELS[0], "actions": [{"type": "assign_team", "team_id": 999}]}]},
    )
    assert {e["field"]: e["message"] for e in bad.json()["errors"]} == {
        "levels[0].actions[0]": "assign_team: there is no team 999."
    }
    assert post(api_as["sam"], "/api/v1/escalation-ladders", {"name": "L", "levels": LEVELS}).status_code == 403
    assert database_state() == before
    created = post(api_as["admin"], "/api/v1/escalation-ladders", {"name": "Standard", "policy_id": policy.pk, "levels": LEVELS})
    assert (created.status_code, created.json()["version"]) == (201, 1)
    assert [lad["name"] for lad in api_as["sam"].get("/api/v1/escalation-ladders").json()] == ["Standard"]

    ticket = open_ticket(world, berlin(23, 9))
    escalation = api_as["sam"].get(f"/api/v1/tickets/{ticket.pk}").json()["escalation"]
    assert (
        escalation["ladder"],
        escalation["next_step"]["level"],
        escalation["next_step"]["due_at"],
        escalation["next_step"]["actions"],
    ) == (
        "Standard",
        1,
        "2026-11-23T09:00:00Z",
        "notify",
    )
    assert api_as["ana"].get(f"/api/v1/tickets/{ticket.pk}").json()["escalation"] is None  # customers do not see it
    Worker().run_once(now=berlin(23, 10))
    acked = post(api_as["sam"], f"/api/v1/tickets/{ticket.pk}/escalation/acknowledge", {"level": 1})
    steps = acked.json()["escalation"]["steps"]
    assert [(s["level"], s["cycle"], s["state"]) for s in steps] == [(1, 1, "fired"), (1, 2, "cancelled"), (2, 1, "pending")]
    assert steps[0]["acknowledged_at"] is not None
    assert post(api_as["ana"], f"/api/v1/tickets/{ticket.pk}/escalation/acknowledge", {}).status_code == 403

    edited = api_as["admin"].patch(
        f"/api/v1/escalation-ladders/{created.json()['id']}", json.dumps({"levels": LEVELS[:1]}), content_type="application/json"
    )
    assert edited.json()["version"] == 2
    reapplied = post(api_as["sam"], f"/api/v1/tickets/{ticket.pk}/escalation/reapply", {})
    assert reapplied.json()["escalation"]["ladder_version"] == 2
    assert [(s["level"], s["state"]) for s in reapplied.json()["escalation"]["steps"]] == [
        (1, "fired"),
        (1, "cancelled"),
        (2, "cancelled"),
    ]


def test_the_ticket_page_shows_the_next_level_and_acknowledges(world: World, web_as: dict[str, Client]) -> None:
    policy = standard_policy(berlin_calendar())
    post(web_as["admin"], "/api/v1/escalation-ladders", {"name": "Page", "policy_id": policy.pk, "levels": LEVELS})
    ticket = open_ticket(world, berlin(23, 9))
    page = web_as["sam"].get(f"/tickets/{ticket.pk}/").content.decode()
    assert "<strong>Next: level 1</strong> at" in page
    assert "— notify</p>" in page
    assert "Escalation ladder" not in web_as["ana"].get(f"/tickets/{ticket.pk}/").content.decode()
    nothing = web_as["sam"].post(f"/tickets/{ticket.pk}/escalation", {"action": "acknowledge"}, follow=True).content.decode()
    assert "Nothing has fired yet to acknowledge." in nothing
    Worker().run_once(now=berlin(23, 10))
    done = web_as["sam"].post(f"/tickets/{ticket.pk}/escalation", {"action": "acknowledge"}, follow=True).content.decode()
    assert "Acknowledged level(s) 1: their reminders stop." in done
    assert "Level 1 fired" in done
    assert "acknowledged" in done
    assert web_as["ana"].post(f"/tickets/{ticket.pk}/escalation", {"action": "reapply"}).status_code in (403, 404)
