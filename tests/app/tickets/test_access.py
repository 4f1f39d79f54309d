"""The access matrix, through the API and the pages: who may see and change which ticket."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from escalada.customers.models import Contact, Organization
from escalada.tickets.models import Ticket
from tests.app.conftest import World, database_state

pytestmark = pytest.mark.django_db


def _state() -> dict[str, list[dict[str, Any]]]:
    return database_state()


def test_customer_lists_only_their_organizations_tickets(world: World, api_as: dict[str, Client]) -> None:
    ana = api_as["ana"].get("/api/v1/tickets")
    assert ana.status_code == 200
    assert [t["id"] for t in ana.json()["items"]] == [world.ticket_a.pk]
    bob = api_as["bob"].get("/api/v1/tickets")
    assert [t["id"] for t in bob.json()["items"]] == [world.ticket_b.pk]


def test_customer_cannot_read_another_organizations_ticket(world: World, api_as: dict[str, Client]) -> None:
    for path in (
        f"/api/v1/tickets/{world.ticket_b.pk}",
        f"/api/v1/tickets/{world.ticket_b.pk}/messages",
        f"/api/v1/tickets/{world.ticket_b.pk}/events",
    ):
        response = api_as["ana"].get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": f"No ticket with id {world.ticket_b.pk}.", "code": "not_found", "errors": []}


def test_missing_and_forbidden_tickets_look_the_same(world: World, api_as: dict[str, Client]) -> None:
    forbidden = api_as["ana"].get(f"/api/v1/tickets/{world.ticket_b.pk}")
    missing = api_as["ana"].get("/api/v1/tickets/999999")
    assert (forbidden.status_code, missing.status_code) == (404, 404)
    assert forbidden.json()["code"] == missing.json()["code"] == "not_found"


def test_customer_cannot_reply_to_another_organizations_ticket(world: World, api_as: dict[str, Client]) -> None:
    before = _state()
    response = api_as["ana"].post(f"/api/v1/tickets/{world.ticket_b.pk}/replies", {"body": "hi"}, content_type="application/json")
    assert response.status_code == 404
    assert _state() == before


def test_customer_cannot_change_their_own_ticket(world: World, api_as: dict[str, Client]) -> None:
    before = _state()
    response = api_as["ana"].patch(
        f"/api/v1/tickets/{world.ticket_a.pk}", {"priority": "urgent"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert _state() == before


def test_customer_never_sees_internal_notes_or_the_audit_log(world: World, api_as: dict[str, Client]) -> None:
    api_as["sam"].post(
        f"/api/v1/tickets/{world.ticket_a.pk}/replies",
        {"body": "internal", "visibility": "internal"},
        content_type="application/json",
    )
    thread = api_as["ana"].get(f"/api/v1/tickets/{world.ticket_a.pk}/messages").json()
    assert [m["visibility"] for m in thread] == ["public"]
    assert len(api_as["sam"].get(f"/api/v1/tickets/{world.ticket_a.pk}/messages").json()) == 2
    events = api_as["ana"].get(f"/api/v1/tickets/{world.ticket_a.pk}/events")
    assert (events.status_code, events.json()["detail"]) == (403, "The audit log is for agents and admins.")


def test_agent_without_the_team_cannot_change_the_ticket(world: World, api_as: dict[str, Client]) -> None:
    # Sam (Support) may read the Finance ticket for context, but not change it.
    assert api_as["sam"].get(f"/api/v1/tickets/{world.ticket_b.pk}").status_code == 200
    before = _state()
    attempts = [
        api_as["sam"].patch(f"/api/v1/tickets/{world.ticket_b.pk}", {"status": "solved"}, content_type="application/json"),
        api_as["sam"].post(
            f"/api/v1/tickets/{world.ticket_b.pk}/replies",
            {"body": "x", "visibility": "internal"},
            content_type="application/json",
        ),
        api_as["sam"].post(f"/api/v1/tickets/{world.ticket_b.pk}/replies", {"body": "x"}, content_type="application/json"),
    ]
    assert [r.status_code for r in attempts] == [403, 403, 403]
    assert attempts[0].json() == {
        "detail": "Only agents of Finance, its assignee, escalation managers and admins change this ticket.",
        "code": "permission_denied",
        "errors": [],
    }
    assert _state() == before


def test_agent_of_the_team_manager_and_admin_may_change(world: World, api_as: dict[str, Client]) -> None:
    for who, priority in (("fin", "high"), ("morgan", "urgent"), ("admin", "low")):
        response = api_as[who].patch(
            f"/api/v1/tickets/{world.ticket_b.pk}", {"priority": priority}, content_type="application/json"
        )
        assert (who, response.status_code, response.json()["priority"]) == (who, 200, priority)


def test_assignee_outside_the_team_may_change(world: World, api_as: dict[str, Client]) -> None:
    Ticket.objects.filter(pk=world.ticket_b.pk).update(assignee=world.sam.user)
    response = api_as["sam"].patch(f"/api/v1/tickets/{world.ticket_b.pk}", {"priority": "high"}, content_type="application/json")
    assert response.status_code == 200


def test_web_pages_follow_the_same_rules(world: World, web_as: dict[str, Client]) -> None:
    assert web_as["ana"].get(f"/tickets/{world.ticket_a.pk}/").status_code == 200
    assert web_as["ana"].get(f"/tickets/{world.ticket_b.pk}/").status_code == 404
    listing = web_as["ana"].get("/tickets/").content.decode()
    assert "Balance wrong" in listing
    assert "Refund missing" not in listing
    before = _state()
    denied = web_as["sam"].post(f"/tickets/{world.ticket_b.pk}/status", {"status": "solved"})
    assert denied.status_code == 403
    assert web_as["ana"].post(f"/tickets/{world.ticket_b.pk}/reply", {"body": "x"}).status_code == 404
    assert _state() == before


def test_anonymous_gets_401_from_the_api_and_the_login_page_from_the_web(world: World) -> None:
    anonymous = Client()
    response = anonymous.get("/api/v1/tickets")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Sign in, or send a token: Authorization: Bearer esc_….",
        "code": "not_authenticated",
        "errors": [],
    }
    page = anonymous.get("/tickets/")
    assert (page.status_code, page["Location"]) == (302, "/login/?next=/tickets/")


def test_a_revoked_or_wrong_token_is_401(world: World) -> None:
    assert Client(HTTP_AUTHORIZATION="Bearer esc_deadbeef_nope").get("/api/v1/me").status_code == 401
    assert Client(HTTP_AUTHORIZATION="Bearer garbage").get("/api/v1/me").status_code == 401


def test_a_moved_contacts_old_tickets_stay_with_the_old_organization(world: World, web_as: dict[str, Client]) -> None:
    # Ana moves to Contoso: Bob (Contoso) may now open her contact page, but not see Northwind's tickets.
    Contact.objects.filter(pk=world.ana.pk).update(organization=world.contoso)
    assert web_as["bob"].get(f"/contacts/{world.ana.pk}/").status_code == 200
    embedded = web_as["bob"].get(f"/tickets/embed/?requester={world.ana.pk}").content.decode()
    assert "Balance wrong" not in embedded
    assert "No tickets yet." in embedded


def test_customers_do_not_get_internal_fields(world: World, api_as: dict[str, Client]) -> None:
    Organization.objects.filter(pk=world.northwind.pk).update(notes="Churn risk", external_id="crm-1")
    Ticket.objects.filter(pk=world.ticket_a.pk).update(assignee=world.sam.user)
    world.ticket_a.tags.create(name="angry-customer")
    org = api_as["ana"].get(f"/api/v1/organizations/{world.northwind.pk}").json()
    assert (org["notes"], org["external_id"], org["name"]) == (None, None, "Northwind")
    ticket = api_as["ana"].get(f"/api/v1/tickets/{world.ticket_a.pk}").json()
    assert (ticket["tags"], ticket["team"], ticket["assignee"], ticket["tier"]) == (None, None, None, None)
    me = api_as["ana"].get(f"/api/v1/contacts/{world.ana.pk}").json()
    assert (me["is_vip"], me["external_id"]) == (None, None)
    staff_org = api_as["sam"].get(f"/api/v1/organizations/{world.northwind.pk}").json()
    assert (staff_org["notes"], staff_org["external_id"]) == ("Churn risk", "crm-1")
    staff_ticket = api_as["sam"].get(f"/api/v1/tickets/{world.ticket_a.pk}").json()
    assert (staff_ticket["tags"], staff_ticket["team"]["name"], staff_ticket["assignee"]["username"], staff_ticket["tier"]) == (
        ["angry-customer"],
        "Support",
        "sam",
        1,
    )
