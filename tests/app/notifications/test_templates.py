"""Admins change the customer e-mails: validated, previewed for a real ticket, reset."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from escalada.desk import verbs
from escalada.notifications.models import MailTemplate, OutboxMessage
from tests.app.conftest import World, database_state

pytestmark = pytest.mark.django_db


def put(client: Client, kind: str, body: dict[str, Any]) -> Any:
    return client.put(f"/api/v1/mail-templates/{kind}", json.dumps(body), content_type="application/json")


def test_an_edited_template_is_what_customers_get(world: World, api_as: dict[str, Client]) -> None:
    listed = api_as["admin"].get("/api/v1/mail-templates").json()
    assert [(t["kind"], t["is_custom"]) for t in listed] == [
        ("ticket_received", False),
        ("agent_reply", False),
        ("ticket_solved", False),
        ("ticket_escalated", False),
    ]
    saved = put(
        api_as["admin"],
        "ticket_received",
        {"subject": "{{ token }} Thanks, {{ requester.name }}", "body_text": "Ticket {{ ticket.number }}: {{ ticket.url }}"},
    )
    assert (saved.status_code, saved.json()["is_custom"]) == (200, True)
    ticket = verbs.ticket_open(subject="Hi", description="x", requester=world.ana, channel="web", actor=None)
    mail = OutboxMessage.objects.get(ticket=ticket, kind="customer.ticket_received")
    assert (mail.subject, mail.body_text, mail.body_html) == (
        f"[#{ticket.number}] Thanks, Ana Lima",
        f"Ticket {ticket.number}: http://127.0.0.1:8000/tickets/{ticket.pk}/",
        "",
    )
    assert api_as["admin"].delete("/api/v1/mail-templates/ticket_received").status_code == 204
    assert MailTemplate.objects.count() == 0


def test_template_errors_and_preview(world: World, api_as: dict[str, Client]) -> None:
    sneaky = put(
        api_as["admin"], "agent_reply", {"subject": "x", "body_text": "{{ ticket.requester.user.password }}{{ message.delete }}"}
    )
    assert sneaky.status_code == 200  # allowed, but renders nothing: templates see plain values only
    preview = api_as["admin"].post(
        "/api/v1/mail-templates/agent_reply/preview",
        json.dumps(
            {"ticket_id": world.ticket_a.pk, "subject": "Re: {{ token }}", "body_text": "[{{ ticket.requester.user.password }}]"}
        ),
        content_type="application/json",
    )
    assert preview.json() == {"subject": f"Re: [#{world.ticket_a.number}]", "body_text": "[]", "body_html": ""}
    assert MailTemplate.objects.get(kind="agent_reply").subject == "x"  # the preview saved nothing
    before = database_state()
    bad = put(api_as["admin"], "agent_reply", {"subject": "{% if %}", "body_text": ""})
    assert bad.status_code == 422
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["body_text", "subject"]
    assert put(api_as["admin"], "unknown", {"subject": "x", "body_text": "y"}).status_code == 404
    assert put(api_as["sam"], "agent_reply", {"subject": "x", "body_text": "y"}).status_code == 403
    assert database_state() == before
