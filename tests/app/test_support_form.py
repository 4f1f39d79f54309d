"""The public support form: a ticket without signing in; honeypot and per-address limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from escalada.notifications.models import OutboxMessage
from escalada.tickets.models import Ticket
from tests.app.conftest import World, database_state

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Nora Field",
    "email": "nora@contoso.example",
    "subject": "Cannot export",
    "description": "The CSV export times out.",
}


def test_a_visitor_opens_a_ticket_and_gets_a_confirmation(world: World) -> None:
    page = Client().get("/support/new")
    assert page.status_code == 200
    assert 'name="website"' in page.content.decode()  # the honeypot is there, hidden
    done = Client().post("/support/new", FORM)
    ticket = Ticket.objects.get(subject="Cannot export")
    assert done.status_code == 201
    assert f"as ticket <strong>#{ticket.number}</strong>" in done.content.decode()
    assert (ticket.channel, ticket.requester.email, ticket.requester.name, ticket.organization) == (
        "web",
        "nora@contoso.example",
        "Nora Field",
        world.contoso,
    )
    assert OutboxMessage.objects.filter(ticket=ticket, kind="customer.ticket_received").count() == 1


def test_bots_and_bad_input_change_nothing(world: World, settings: Any) -> None:
    settings.ESCALADA_SUPPORT_FORM_PER_HOUR = 2
    before = database_state()
    bot = Client().post("/support/new", {**FORM, "website": "http://spam.example"})
    assert (bot.status_code, "Thank you" in bot.content.decode()) == (200, True)
    bad = Client().post("/support/new", {**FORM, "email": "nope", "subject": ""})
    assert bad.status_code == 422
    html = bad.content.decode()
    assert "Enter a valid email address." in html
    assert "This field is required." in html
    assert database_state() == before
    client = Client(REMOTE_ADDR="203.0.113.9")
    assert [client.post("/support/new", {**FORM, "subject": f"Try {i}"}).status_code for i in range(3)] == [201, 201, 429]
    assert "Too many requests from your address" in client.post("/support/new", FORM).content.decode()
    assert Client(REMOTE_ADDR="203.0.113.10").post("/support/new", FORM).status_code == 201  # another address


def test_the_embedded_form_may_be_framed_and_the_widget_script_is_served(world: World, settings: Any) -> None:
    settings.ESCALADA_WIDGET_ORIGINS = ["https://app.example.com"]
    embedded = Client().get("/support/new?embed=1")
    assert embedded["Content-Security-Policy"] == "frame-ancestors https://app.example.com"
    assert "X-Frame-Options" not in embedded
    assert "<nav" not in embedded.content.decode()
    widget = finders.find("desk/support-widget.js")
    assert isinstance(widget, str)
    assert "/support/new?embed=1" in Path(widget).read_text(encoding="utf-8")
