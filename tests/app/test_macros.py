"""Macros: canned replies with plain variables, through the API and into the reply box."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from escalada.tickets.macros import macro_save
from tests.app.conftest import World, database_state
from tests.app.escalations.test_flow import call, errors

pytestmark = pytest.mark.django_db

BODY = (
    "Hello {{ requester.first_name }},\n\nabout #{{ ticket.number }} ({{ organization.name }}): we are on it.\n\n{{ agent.name }}"
)


def test_admins_write_macros_with_checked_templates(world: World, api_as: dict[str, Client]) -> None:
    before = database_state()
    bad = call(api_as["admin"], "post", "/macros", {"name": "Ack", "body": "Hi {% if %}"})
    assert (bad.status_code, list(errors(bad))) == (422, ["body"])
    assert call(api_as["sam"], "post", "/macros", {"name": "Ack", "body": BODY}).status_code == 403
    assert database_state() == before
    made = call(api_as["admin"], "post", "/macros", {"name": "Ack", "body": BODY, "set_status": "pending"})
    assert (made.status_code, made.json()["set_status"]) == (201, "pending")
    twice = call(api_as["admin"], "post", "/macros", {"name": "ack", "body": BODY})
    assert errors(twice) == {"name": "A macro named 'ack' exists already."}
    rendered = call(api_as["sam"], "post", f"/tickets/{world.ticket_a.pk}/macros/{made.json()['id']}/render").json()
    assert rendered == {
        "body": f"Hello Ana,\n\nabout #{world.ticket_a.number} (Northwind): we are on it.\n\nSam Carter",
        "visibility": "public",
        "set_status": "pending",
    }
    assert call(api_as["ana"], "get", "/macros").status_code == 403


def test_a_macro_fills_the_reply_box_after_what_is_typed(world: World, web_as: dict[str, Client]) -> None:
    macro = macro_save(macro=None, data={"name": "Ack", "body": BODY}, actor=None, now=timezone.now())
    page = web_as["sam"].get(f"/tickets/{world.ticket_a.pk}/").content.decode()
    assert f'<option value="{macro.pk}">Ack</option>' in page
    box = web_as["sam"].get(f"/tickets/{world.ticket_a.pk}/macro", {"macro": str(macro.pk), "body": "Thanks!"}).content.decode()
    assert box.startswith("<textarea")
    assert 'name="body"' in box
    assert "Thanks!\n\nHello Ana," in box
    assert web_as["ana"].get(f"/tickets/{world.ticket_a.pk}/macro", {"macro": str(macro.pk)}).status_code == 404


def test_a_teams_macro_is_offered_on_its_tickets_and_to_its_agents_only(
    world: World, api_as: dict[str, Client], web_as: dict[str, Client]
) -> None:
    everyone = macro_save(macro=None, data={"name": "Ack", "body": BODY}, actor=None, now=timezone.now())
    refund = call(api_as["admin"], "post", "/macros", {"name": "Refund issued", "body": "Refunded.", "team_id": world.finance.pk})
    assert (refund.status_code, refund.json()["team_id"]) == (201, world.finance.pk)
    refund_id = refund.json()["id"]
    # Sam (Support) on Support's ticket: everyone's macro only; the Finance one does not render.
    page = web_as["sam"].get(f"/tickets/{world.ticket_a.pk}/").content.decode()
    assert f'<option value="{everyone.pk}">Ack</option>' in page
    assert "Refund issued" not in page
    assert call(api_as["sam"], "post", f"/tickets/{world.ticket_a.pk}/macros/{refund_id}/render").status_code == 404
    # Fin (Finance) on Finance's ticket: both.
    fin_page = web_as["fin"].get(f"/tickets/{world.ticket_b.pk}/").content.decode()
    assert f'<option value="{refund_id}">Refund issued</option>' in fin_page
    assert call(api_as["fin"], "post", f"/tickets/{world.ticket_b.pk}/macros/{refund_id}/render").json()["body"] == "Refunded."
    before = database_state()
    bad = call(api_as["admin"], "post", "/macros", {"name": "Other", "body": "x", "team_id": 999})
    assert (bad.status_code, errors(bad)) == (422, {"team_id": "No such team; leave it empty for a macro every team may use."})
    assert database_state() == before


def test_the_macro_list_shows_agents_their_teams_macros_only(world: World, api_as: dict[str, Client]) -> None:
    macro_save(macro=None, data={"name": "Ack", "body": BODY}, actor=None, now=timezone.now())
    macro_save(
        macro=None, data={"name": "Refund issued", "body": "x", "team_id": world.finance.pk}, actor=None, now=timezone.now()
    )
    assert [m["name"] for m in call(api_as["sam"], "get", "/macros").json()] == ["Ack"]
    assert [m["name"] for m in call(api_as["fin"], "get", "/macros").json()] == ["Ack", "Refund issued"]
    assert [m["name"] for m in call(api_as["admin"], "get", "/macros").json()] == ["Ack", "Refund issued"]
