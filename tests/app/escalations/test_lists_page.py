"""Settings → Escalation lists and playbooks, as support ops uses it."""

from __future__ import annotations

import pytest
from django.test import Client

from escalada.escalations.lists_views import steps_from_text, steps_to_text
from escalada.escalations.models import Playbook, Reason
from tests.app.conftest import World, database_state

pytestmark = pytest.mark.django_db


def test_admins_add_rename_and_retire_entries(world: World, web_as: dict[str, Client]) -> None:
    page = web_as["sam"].get("/settings/escalation-lists/").content.decode()
    assert "Technical expertise needed" in page
    assert "Only admins change these." in page
    before = database_state()
    assert web_as["sam"].post("/settings/escalation-lists/", {"kind": "reasons", "name": "Nope"}).status_code == 403
    taken = web_as["admin"].post("/settings/escalation-lists/", {"kind": "reasons", "name": "billing dispute"})
    assert (taken.status_code, "is on the list already" in taken.content.decode()) == (422, True)
    assert database_state() == before
    added = web_as["admin"].post("/settings/escalation-lists/", {"kind": "reasons", "name": "Legal hold", "is_active": "on"})
    assert added.status_code == 302
    legal = Reason.objects.get(slug="legal-hold")
    web_as["admin"].post(
        "/settings/escalation-lists/", {"kind": "reasons", "item": legal.pk, "name": "Legal review", "rank": "5"}
    )
    legal.refresh_from_db()
    assert (legal.name, legal.slug, legal.rank, legal.is_active) == ("Legal review", "legal-hold", 5, False)


def test_playbooks_are_written_one_step_a_line(world: World, web_as: dict[str, Client]) -> None:
    bad = web_as["admin"].post(
        "/settings/escalation-lists/", {"name": "Outage", "category": "outage", "steps": "Page on-call | sre | 15\n | x | 5"}
    )
    assert (bad.status_code, "Line 2: Say what to do, in 1 to 200 characters." in bad.content.decode()) == (422, True)
    made = web_as["admin"].post(
        "/settings/escalation-lists/",
        {
            "name": "Outage",
            "category": "outage",
            "steps": "Page on-call | sre | 15\nStatus page update | owner",
            "is_active": "on",
        },
    )
    assert made.status_code == 302
    playbook = Playbook.objects.get(name="Outage")
    assert playbook.steps == [
        {"title": "Page on-call", "role": "sre", "due_minutes": 15},
        {"title": "Status page update", "role": "owner", "due_minutes": None},
    ]
    assert steps_to_text(playbook.steps) == "Page on-call | sre | 15\nStatus page update | owner"
    assert steps_from_text("A | b | soon") == [{"title": "A", "role": "b", "due_minutes": "soon"}]
