"""The outbox and webhook API: admins only, 422s naming the field, replay."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from escalada.desk import verbs
from escalada.notifications import delivery
from escalada.notifications.models import OutboxMessage, OutboxState
from tests.app.conftest import World, database_state

pytestmark = pytest.mark.django_db


def post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def field_errors(response: Any) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_webhook_subscriptions(world: World, api_as: dict[str, Client], settings: Any) -> None:
    settings.ESCALADA_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    created = post(
        api_as["admin"], "/api/v1/webhooks", {"name": "CRM", "url": "http://127.0.0.1:9/hooks", "event_types": ["ticket.created"]}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert (body["name"], body["event_types"], body["is_active"]) == ("CRM", ["ticket.created"], True)
    listed = api_as["admin"].get("/api/v1/webhooks").json()
    assert [w["name"] for w in listed] == ["CRM"]
    assert "secret" not in listed[0]  # shown once
    before = database_state()
    internal = post(api_as["admin"], "/api/v1/webhooks", {"name": "Meta", "url": "http://169.254.169.254/", "event_types": ["*"]})
    assert field_errors(internal)["url"].startswith("169.254.169.254 resolves to 169.254.169.254, an internal address")
    unknown = post(api_as["admin"], "/api/v1/webhooks", {"name": "X", "url": "http://127.0.0.1:9/", "event_types": []})
    assert list(field_errors(unknown)) == ["event_types"]
    assert (
        post(api_as["sam"], "/api/v1/webhooks", {"name": "X", "url": "http://127.0.0.1:9/", "event_types": ["*"]}).status_code
        == 403
    )
    assert api_as["sam"].get("/api/v1/webhooks").status_code == 403
    assert database_state() == before
    assert api_as["admin"].delete(f"/api/v1/webhooks/{body['id']}").status_code == 204
    assert api_as["admin"].get("/api/v1/webhooks").json() == []


def test_outbox_list_and_replay(world: World, api_as: dict[str, Client], settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_PORT = 1  # refused
    ticket = verbs.ticket_open(subject="Down", description="x", requester=world.ana, channel="web", actor=None)
    message = OutboxMessage.objects.get(ticket=ticket)
    OutboxMessage.objects.filter(pk=message.pk).update(state=OutboxState.DEAD, next_attempt_at=None, last_error="gave up")
    page = api_as["admin"].get("/api/v1/outbox?state=dead&state=failed").json()
    assert [(m["id"], m["kind"], m["state"], m["last_error"]) for m in page["items"]] == [
        (message.pk, "customer.ticket_received", "dead", "gave up")
    ]
    assert api_as["sam"].get("/api/v1/outbox").status_code == 403
    replayed = api_as["admin"].post(f"/api/v1/outbox/{message.pk}/replay")
    assert (replayed.status_code, replayed.json()["state"]) == (200, "queued")
    again = api_as["admin"].post(f"/api/v1/outbox/{message.pk}/replay")
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    assert api_as["admin"].post("/api/v1/outbox/999999/replay").status_code == 404
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert delivery.outbox_deliver_due(now=timezone.now()) == 1
    message.refresh_from_db()
    assert message.state == OutboxState.SENT


def test_a_line_break_in_a_name_is_refused(world: World, api_as: dict[str, Client]) -> None:
    before = database_state()
    response = post(
        api_as["sam"],
        "/api/v1/tickets",
        {
            "subject": "Hi",
            "description": "x",
            "requester_email": "new@example.com",
            "requester_name": "Eve\r\nBcc: all@example.com",
            "channel": "phone",
        },
    )
    assert field_errors(response) == {
        "requester_name": "A name is one line: line breaks are not allowed (they would break e-mail headers)."
    }
    contact = post(api_as["sam"], "/api/v1/contacts", {"name": "Eve\nX", "email": "eve@example.com"})
    assert field_errors(contact) == {"name": "A name is one line: line breaks are not allowed (they would break e-mail headers)."}
    assert database_state() == before
