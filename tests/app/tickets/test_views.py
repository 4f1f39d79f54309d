"""The pages: they render, show errors next to fields, and the htmx reply returns a partial."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from escalada.audit.models import Event
from escalada.customers.models import Organization
from escalada.tickets.models import Message, Ticket
from tests.app.conftest import World
from tests.app.factories import CategoryFactory

pytestmark = pytest.mark.django_db


def test_ticket_list_filters_and_links(world: World, web_as: dict[str, Client]) -> None:
    page = web_as["sam"].get("/tickets/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'href="/tickets/{world.ticket_a.pk}/"' in html
    assert "Refund missing" in html
    filtered = web_as["sam"].get(f"/tickets/?team={world.finance.pk}").content.decode()
    assert ("Refund missing" in filtered, "Balance wrong" in filtered) == (True, False)
    unsolved = web_as["sam"].get("/tickets/?status=unsolved").content.decode()
    assert ("Refund missing" in unsolved, "Balance wrong" in unsolved) == (True, True)
    web_as["sam"].post(f"/tickets/{world.ticket_a.pk}/status", {"status": "solved"})
    unsolved = web_as["sam"].get("/tickets/?status=unsolved").content.decode()
    assert ("Refund missing" in unsolved, "Balance wrong" in unsolved) == (True, False)
    solved = web_as["sam"].get("/tickets/?status=solved").content.decode()
    assert ("Refund missing" in solved, "Balance wrong" in solved) == (False, True)
    empty = web_as["sam"].get("/tickets/?q=nothing-matches").content.decode()
    assert "No ticket matches these filters." in empty


def test_ticket_list_query_count_is_flat(world: World, web_as: dict[str, Client]) -> None:
    with CaptureQueriesContext(connection) as few:
        web_as["sam"].get("/tickets/")
    for n in range(8):
        Ticket.objects.create(
            subject=f"More {n}", description="d", channel="web", requester=world.ana, organization=world.northwind,
            created_at=world.ticket_a.created_at, updated_at=world.ticket_a.updated_at,
        )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        web_as["sam"].get("/tickets/")
    assert len(few.captured_queries) == len(many.captured_queries)


def test_ticket_page_shows_thread_and_tools(world: World, web_as: dict[str, Client]) -> None:
    html = web_as["sam"].get(f"/tickets/{world.ticket_a.pk}/").content.decode()
    for expected in ("Balance wrong", "My balance is wrong.", "Set status", "Assign", "Timeline", "ticket.created"):
        assert expected in html
    customer = web_as["ana"].get(f"/tickets/{world.ticket_a.pk}/").content.decode()
    assert ("Set status" in customer, "Timeline" in customer, "Internal note" in customer) == (False, False, False)
    assert ("New request" in customer, "My organization" in customer, 'href="/contacts/"' in customer) == (True, True, False)


def test_htmx_reply_returns_the_conversation_partial(world: World, web_as: dict[str, Client]) -> None:
    response = web_as["sam"].post(
        f"/tickets/{world.ticket_a.pk}/reply",
        {"body": "We are on it.", "visibility": "internal", "status": ""},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<section id="conversation">')
    assert "<html" not in html
    assert 'class="internal"' in html
    assert '<ul class="events" id="timeline" hx-swap-oob="true">' in html
    assert "<strong>ticket.note_added</strong> by sam" in html
    assert Message.objects.filter(ticket=world.ticket_a, visibility="internal", body_text="We are on it.").count() == 1


def test_reply_errors_show_next_to_the_field(world: World, web_as: dict[str, Client]) -> None:
    before = Event.objects.count()
    response = web_as["sam"].post(
        f"/tickets/{world.ticket_a.pk}/reply", {"body": "", "visibility": "public"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert '<p class="field-error" role="alert" id="id_body_error">This field is required.</p>' in html
    assert 'aria-invalid="true" aria-describedby="id_body_error"' in html  # a screen reader reads it with the field
    assert Event.objects.count() == before


def test_customer_reply_from_the_portal(world: World, web_as: dict[str, Client]) -> None:
    response = web_as["ana"].post(f"/tickets/{world.ticket_a.pk}/reply", {"body": "Any news?", "visibility": "internal"})
    assert response.status_code == 302
    message = Message.objects.filter(ticket=world.ticket_a).last()
    assert message is not None
    assert (message.visibility, message.author_contact_id) == ("public", world.ana.pk)


def test_status_and_assignment_forms(world: World, web_as: dict[str, Client]) -> None:
    ok = web_as["sam"].post(f"/tickets/{world.ticket_a.pk}/status", {"status": "pending"})
    assert ok.status_code == 302
    bad = web_as["sam"].post(f"/tickets/{world.ticket_a.pk}/status", {"status": "pending"})
    assert bad.status_code == 422
    assert "The ticket is already pending." in bad.content.decode()
    wrong_team = web_as["sam"].post(
        f"/tickets/{world.ticket_a.pk}/assign", {"team": world.finance.pk, "assignee": world.sam.user.pk}
    )
    assert wrong_team.status_code == 422
    assert "sam is not in team Finance." in wrong_team.content.decode()
    world.ticket_a.refresh_from_db()
    assert (world.ticket_a.status, world.ticket_a.team_id, world.ticket_a.assignee_id) == ("pending", world.support.pk, None)


def test_properties_form(world: World, web_as: dict[str, Client]) -> None:
    category = CategoryFactory.create()
    response = web_as["sam"].post(
        f"/tickets/{world.ticket_a.pk}/properties",
        {"priority": "high", "severity": "sev1", "category": category.pk, "tags": "invoice, Rounding"},
    )
    assert response.status_code == 302
    world.ticket_a.refresh_from_db()
    assert (world.ticket_a.priority, world.ticket_a.severity, world.ticket_a.category_id) == ("high", "sev1", category.pk)
    assert sorted(world.ticket_a.tags.values_list("name", flat=True)) == ["invoice", "rounding"]


def test_new_ticket_form(world: World, web_as: dict[str, Client]) -> None:
    form = web_as["sam"].get("/tickets/new/").content.decode()
    assert 'name="requester_email"' in form
    bad = web_as["sam"].post(
        "/tickets/new/",
        {
            "requester_email": "nope",
            "subject": "",
            "description": "x",
            "channel": "phone",
            "priority": "normal",
            "severity": "sev3",
        },
    )
    assert bad.status_code == 422
    assert "Enter a valid email address." in bad.content.decode()
    good = web_as["sam"].post(
        "/tickets/new/",
        {
            "requester_email": "caller@contoso.example",
            "subject": "Called about refund",
            "description": "Logged by phone.",
            "channel": "phone",
            "priority": "high",
            "severity": "sev3",
        },
    )
    ticket = Ticket.objects.get(subject="Called about refund")
    assert (good.status_code, good["Location"]) == (302, f"/tickets/{ticket.pk}/")
    assert (ticket.channel, ticket.organization_id, ticket.created_by_id) == ("phone", world.contoso.pk, world.sam.user.pk)
    customer_form = web_as["ana"].get("/tickets/new/").content.decode()
    assert 'name="requester_email"' not in customer_form


def test_organization_and_contact_pages(world: World, web_as: dict[str, Client]) -> None:
    assert "Northwind" in web_as["sam"].get("/organizations/").content.decode()
    org_page = web_as["sam"].get(f"/organizations/{world.northwind.pk}/").content.decode()
    assert "Ana Lima" in org_page
    assert f'hx-get="/tickets/embed/?organization={world.northwind.pk}"' in org_page
    embedded = web_as["sam"].get(f"/tickets/embed/?organization={world.northwind.pk}").content.decode()
    assert ("Balance wrong" in embedded, "Refund missing" in embedded) == (True, False)
    saved = web_as["sam"].post(
        f"/organizations/{world.northwind.pk}/",
        {
            "name": "Northwind",
            "domains": "northwind.example nw.example",
            "tier": "enterprise",
            "time_zone": "Europe/Berlin",
            "external_id": "",
            "notes": "",
        },
    )
    assert saved.status_code == 302
    world.northwind.refresh_from_db()
    assert world.northwind.tier == "enterprise"
    bad = web_as["sam"].post(
        f"/organizations/{world.northwind.pk}/",
        {"name": "Northwind", "domains": "contoso.example", "tier": "enterprise", "time_zone": "Nowhere/Land"},
    )
    assert bad.status_code == 422
    assert "&#x27;Nowhere/Land&#x27; is not an IANA time zone" in bad.content.decode()
    assert web_as["ana"].get(f"/organizations/{world.contoso.pk}/").status_code == 404
    assert web_as["ana"].post(f"/organizations/{world.northwind.pk}/", {"name": "Hacked"}).status_code == 404
    contact = web_as["sam"].get(f"/contacts/{world.ana.pk}/").content.decode()
    assert f'hx-get="/tickets/embed/?requester={world.ana.pk}"' in contact
    assert web_as["bob"].get(f"/contacts/{world.ana.pk}/").status_code == 404
    assert web_as["sam"].get("/tickets/embed/").status_code == 422


def test_profile_creates_a_token_once(world: World, web_as: dict[str, Client]) -> None:
    response = web_as["sam"].post("/profile/", {"name": "my script"})
    html = response.content.decode()
    assert 'id="new-token"' in html
    assert "Copy this token now" in html
    again = web_as["sam"].get("/profile/").content.decode()
    assert 'id="new-token"' not in again
    assert "my script" in again


def test_new_organization_page(world: World, web_as: dict[str, Client]) -> None:
    assert 'href="/organizations/new/"' in web_as["sam"].get("/organizations/").content.decode()
    bad = web_as["sam"].post(
        "/organizations/new/", {"name": "Northwind", "domains": "bad domain!", "tier": "standard", "time_zone": "UTC"}
    )
    assert bad.status_code == 422
    html = bad.content.decode()
    assert "An organization named &#x27;Northwind&#x27; exists already." in html
    assert "Not a domain name: bad, domain!." in html
    good = web_as["sam"].post(
        "/organizations/new/",
        {"name": "Fabrikam", "domains": "fabrikam.example", "tier": "premium", "time_zone": "Asia/Tokyo", "notes": "New"},
    )
    created = Organization.objects.get(name="Fabrikam")
    assert (good.status_code, good["Location"]) == (302, f"/organizations/{created.pk}/")
    assert (created.tier, created.time_zone, list(created.domains.values_list("domain", flat=True))) == (
        "premium",
        "Asia/Tokyo",
        ["fabrikam.example"],
    )
    assert web_as["ana"].get("/organizations/new/").status_code == 404
    assert 'href="/organizations/new/"' not in web_as["ana"].get("/organizations/").content.decode()
