"""Tickets from chat, phone and social: by token or by HMAC signature, idempotent by external id."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from django.test import Client

from escalada.tickets.models import Ticket
from tests.app.conftest import World, database_state

pytestmark = pytest.mark.django_db

SECRET = "intake-secret-for-tests"  # noqa: S105 - a test value


def post_signed(body: dict[str, Any], *, secret: str = SECRET, stamp: int | None = None) -> Any:
    raw = json.dumps(body)
    when = str(stamp if stamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), when.encode() + b"." + raw.encode(), hashlib.sha256).hexdigest()
    headers = {"X-Escalada-Timestamp": when, "X-Escalada-Signature": f"sha256={digest}"}
    return Client().post("/api/v1/intake/chat", raw, content_type="application/json", headers=headers)


BODY = {
    "requester_email": "new.person@contoso.example",
    "requester_name": "New Person",
    "subject": "Chat: cannot log in",
    "description": "Transcript…",
    "external_id": "conv-42",
}


def test_a_signed_chat_conversation_becomes_a_ticket_once(world: World, settings: Any) -> None:
    settings.ESCALADA_INTAKE_SECRET = SECRET
    first = post_signed(BODY)
    assert first.status_code == 201, first.json()
    ticket = first.json()["ticket"]
    assert (ticket["channel"], ticket["subject"], ticket["organization"]["name"], first.json()["is_new"]) == (
        "chat",
        "Chat: cannot log in",
        "Contoso",
        True,
    )
    again = post_signed(BODY)
    assert (again.status_code, again.json()["ticket"]["id"], again.json()["is_new"]) == (200, ticket["id"], False)
    assert Ticket.objects.filter(channel="chat").count() == 1


def test_bad_signatures_and_old_timestamps_are_401(world: World, settings: Any) -> None:
    settings.ESCALADA_INTAKE_SECRET = SECRET
    before = database_state()
    assert post_signed(BODY, secret="wrong").status_code == 401
    assert post_signed(BODY, stamp=int(time.time()) - 301).status_code == 401
    assert Client().post("/api/v1/intake/chat", json.dumps(BODY), content_type="application/json").status_code == 401
    settings.ESCALADA_INTAKE_SECRET = ""
    assert post_signed(BODY).status_code == 401  # no secret configured: signatures are off
    assert database_state() == before


def test_intake_by_token_with_field_errors(world: World, api_as: dict[str, Client]) -> None:
    before = database_state()
    bad = api_as["sam"].post(
        "/api/v1/intake/fax",
        json.dumps({**BODY, "requester_email": "not-an-address", "subject": ""}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["channel", "requester_email", "subject"]
    assert api_as["ana"].post("/api/v1/intake/phone", json.dumps(BODY), content_type="application/json").status_code == 403
    assert database_state() == before
    phone = api_as["sam"].post("/api/v1/intake/phone", json.dumps({**BODY, "external_id": None}), content_type="application/json")
    assert (phone.status_code, phone.json()["ticket"]["channel"]) == (201, "phone")
