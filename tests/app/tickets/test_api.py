"""The tickets API: shapes, errors, idempotency, pagination, query counts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from escalada.accounts.models import IdempotencyKey
from escalada.audit.models import Event
from escalada.customers.models import Contact
from escalada.tickets.models import Message, Ticket
from tests.app.conftest import World, database_state

pytestmark = pytest.mark.django_db

NEW = {
    "subject": "Invoice total is off by one cent",
    "description": "Invoice 2026-11 shows 100.01 instead of 100.00.",
    "requester_email": "Ana@Northwind.example",
    "channel": "email",
    "priority": "high",
}


def _snapshot() -> dict[str, list[dict[str, Any]]]:
    return database_state()


def _post(client: Client, path: str, body: object, **headers: str) -> object:
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


def test_create_answers_201_with_the_ticket(world: World, api_as: dict[str, Client]) -> None:
    response = api_as["sam"].post("/api/v1/tickets", NEW, content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    ticket = Ticket.objects.get(pk=body["id"])
    assert body["number"] == ticket.number == ticket.pk
    assert {k: body[k] for k in ("subject", "channel", "priority", "severity", "status", "tier", "tags", "reopen_count")} == {
        "subject": "Invoice total is off by one cent",
        "channel": "email",
        "priority": "high",
        "severity": "sev3",
        "status": "new",
        "tier": 1,
        "tags": [],
        "reopen_count": 0,
    }
    assert body["requester"] == {"id": world.ana.pk, "name": "Ana Lima", "email": "ana@northwind.example"}
    assert body["organization"] == {"id": world.northwind.pk, "name": "Northwind", "tier": "standard"}
    assert (body["team"], body["assignee"], body["category"]) == (None, None, None)


def test_create_for_a_new_address_creates_the_contact_in_its_organization(world: World, api_as: dict[str, Client]) -> None:
    response = api_as["sam"].post(
        "/api/v1/tickets",
        {**NEW, "requester_email": "new.person@contoso.example", "requester_name": "New Person"},
        content_type="application/json",
    )
    assert response.status_code == 201
    contact = Contact.objects.get(email="new.person@contoso.example")
    assert (contact.name, contact.organization_id) == ("New Person", world.contoso.pk)
    assert response.json()["organization"]["id"] == world.contoso.pk


def test_customer_creates_as_themselves(world: World, api_as: dict[str, Client]) -> None:
    body = {**{k: v for k, v in NEW.items() if k != "requester_email"}, "channel": "web"}
    response = api_as["ana"].post("/api/v1/tickets", body, content_type="application/json")
    assert (response.status_code, response.json()["requester"]["id"]) == (201, world.ana.pk)
    before = _snapshot()
    other = api_as["ana"].post(
        "/api/v1/tickets", {**body, "requester_email": "bob@contoso.example"}, content_type="application/json"
    )
    assert other.status_code == 422
    assert other.json()["errors"] == [
        {"field": "requester_email", "message": "Customers open tickets as themselves; leave this out."}
    ]
    staff_fields = api_as["ana"].post(
        "/api/v1/tickets",
        {**body, "channel": "phone", "severity": "sev1", "tags": ["vip"], "team_id": world.support.pk},
        content_type="application/json",
    )
    assert staff_fields.status_code == 422
    assert staff_fields.json()["errors"] == [
        {"field": "severity", "message": "Set by the support team; leave this out."},
        {"field": "team_id", "message": "Set by the support team; leave this out."},
        {"field": "tags", "message": "Set by the support team; leave this out."},
        {"field": "channel", "message": "Customers write through web or api."},
    ]
    assert _snapshot() == before


def test_validation_errors_name_each_field_and_change_nothing(world: World, api_as: dict[str, Client]) -> None:
    before = _snapshot()
    response = api_as["sam"].post(
        "/api/v1/tickets",
        {"subject": "x", "channel": "fax", "priority": "asap", "requester_email": "a@b.example", "colour": "red"},
        content_type="application/json",
    )
    assert response.status_code == 422
    body = response.json()
    assert (body["detail"], body["code"]) == ("Some fields are not valid.", "validation_failed")
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert fields == {
        "description": "Field required",
        "channel": "Input should be 'email', 'web', 'chat', 'phone', 'social' or 'api'",
        "priority": "Input should be 'urgent', 'high', 'normal' or 'low'",
        "colour": "Unknown field; see /api/docs for the fields this operation takes.",
    }
    assert _snapshot() == before


def test_service_level_errors_use_the_same_shape(world: World, api_as: dict[str, Client]) -> None:
    before = _snapshot()
    response = api_as["sam"].post(
        "/api/v1/tickets",
        {**NEW, "subject": "   ", "team_id": 999, "category": "nope", "requester_email": "not-an-address", "tags": ["<b>"]},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": "Some fields are not valid.",
        "code": "validation_failed",
        "errors": [
            {"field": "subject", "message": "Give the ticket a subject."},
            {"field": "tags", "message": "'<b>' is not a tag: use up to 50 letters, digits, spaces, - _ . :"},
            {"field": "requester_email", "message": "Enter a valid e-mail address."},
            {"field": "team_id", "message": "No team with id 999."},
            {"field": "category", "message": "No category 'nope'; known: none yet."},
        ],
    }
    assert _snapshot() == before


def test_malformed_json_is_a_422_on_body(world: World, api_as: dict[str, Client]) -> None:
    before = _snapshot()
    response = api_as["sam"].post("/api/v1/tickets", '{"subject": "x",', content_type="application/json")
    assert response.status_code == 422
    assert response.json() == {
        "detail": "The body is not valid JSON.",
        "code": "validation_failed",
        "errors": [{"field": "body", "message": "Send a JSON object."}],
    }
    assert _snapshot() == before


def test_body_over_one_mebibyte_is_413(world: World, api_as: dict[str, Client]) -> None:
    before = _snapshot()
    response = api_as["sam"].post("/api/v1/tickets", {**NEW, "description": "x" * (1024 * 1024)}, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert _snapshot() == before


def test_script_never_reaches_a_page(world: World, api_as: dict[str, Client], web_as: dict[str, Client]) -> None:
    payload = {**NEW, "subject": "<script>alert('s')</script>Hi", "description_html": "<p>ok<script>alert('d')</script></p>"}
    created = api_as["sam"].post("/api/v1/tickets", payload, content_type="application/json").json()
    page = web_as["sam"].get(f"/tickets/{created['id']}/").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;s&#x27;)&lt;/script&gt;Hi" in page
    assert Message.objects.get(ticket_id=created["id"]).body_html == "<p>ok</p>"


def test_patch_changes_fields_status_and_assignment_in_one_call(world: World, api_as: dict[str, Client]) -> None:
    ticket_id = world.ticket_a.pk
    response = api_as["sam"].patch(
        f"/api/v1/tickets/{ticket_id}",
        {"priority": "urgent", "tags": ["VIP"], "assignee_id": world.sam.user.pk, "status": "open"},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["priority"], body["tags"], body["assignee"]["username"], body["status"]) == ("urgent", ["vip"], "sam", "open")
    kinds = list(Event.objects.filter(stream=f"ticket:{ticket_id}").order_by("seq").values_list("kind", flat=True))
    assert kinds == ["ticket.created", "ticket.updated", "ticket.assigned", "ticket.status_changed"]


def test_patch_that_fails_half_way_changes_nothing(world: World, api_as: dict[str, Client]) -> None:
    before = (list(Ticket.objects.values().order_by("pk")), Event.objects.count())
    response = api_as["sam"].patch(
        f"/api/v1/tickets/{world.ticket_a.pk}", {"priority": "urgent", "status": "closed"}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "status", "message": "A new ticket can move to on_hold, open, pending, solved, not closed."}
    ]
    assert (list(Ticket.objects.values().order_by("pk")), Event.objects.count()) == before


def test_reply_and_thread(world: World, api_as: dict[str, Client]) -> None:
    response = api_as["sam"].post(
        f"/api/v1/tickets/{world.ticket_a.pk}/replies",
        {"body": "Looking into it.", "status": "pending"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert {k: response.json()[k] for k in ("visibility", "channel", "body_text", "author_type", "author_name")} == {
        "visibility": "public",
        "channel": "api",
        "body_text": "Looking into it.",
        "author_type": "agent",
        "author_name": "Sam Carter",
    }
    thread = api_as["ana"].get(f"/api/v1/tickets/{world.ticket_a.pk}/messages").json()
    assert [m["body_text"] for m in thread] == ["My balance is wrong.", "Looking into it."]
    assert api_as["ana"].get(f"/api/v1/tickets/{world.ticket_a.pk}").json()["status"] == "pending"


def test_events_endpoint_returns_the_chain(world: World, api_as: dict[str, Client]) -> None:
    api_as["sam"].patch(f"/api/v1/tickets/{world.ticket_a.pk}", {"priority": "low"}, content_type="application/json")
    events = api_as["sam"].get(f"/api/v1/tickets/{world.ticket_a.pk}/events").json()
    assert [(e["seq"], e["kind"], e["actor"]) for e in events] == [(1, "ticket.created", "system"), (2, "ticket.updated", "sam")]
    assert events[1]["before"] == {"priority": "normal"}
    assert events[1]["after"] == {"priority": "low"}
    assert events[1]["prev_hash"] == events[0]["hash"]


# --- Idempotency-Key ----------------------------------------------------------------------------


def test_idempotent_repeat_returns_the_first_answer_and_creates_once(world: World, api_as: dict[str, Client]) -> None:
    first = api_as["sam"].post("/api/v1/tickets", NEW, content_type="application/json", headers={"Idempotency-Key": "k-1"})
    after_first = _snapshot()
    repeat = api_as["sam"].post("/api/v1/tickets", NEW, content_type="application/json", headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, repeat.status_code) == (201, 201)
    assert repeat.content == first.content
    assert repeat["Idempotent-Replayed"] == "true"
    assert _snapshot() == after_first


def test_same_key_with_a_different_body_is_409(world: World, api_as: dict[str, Client]) -> None:
    api_as["sam"].post("/api/v1/tickets", NEW, content_type="application/json", headers={"Idempotency-Key": "k-2"})
    before = _snapshot()
    other = api_as["sam"].post(
        "/api/v1/tickets", {**NEW, "subject": "Another"}, content_type="application/json", headers={"Idempotency-Key": "k-2"}
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert _snapshot() == before


def test_keys_are_per_user(world: World, api_as: dict[str, Client]) -> None:
    a = api_as["sam"].post("/api/v1/tickets", NEW, content_type="application/json", headers={"Idempotency-Key": "shared"})
    b = api_as["fin"].post("/api/v1/tickets", NEW, content_type="application/json", headers={"Idempotency-Key": "shared"})
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]


def test_a_failed_request_does_not_burn_the_key(world: World, api_as: dict[str, Client]) -> None:
    bad = api_as["sam"].post(
        "/api/v1/tickets", {**NEW, "priority": "asap"}, content_type="application/json", headers={"Idempotency-Key": "k-3"}
    )
    assert bad.status_code == 422
    assert IdempotencyKey.objects.count() == 0
    good = api_as["sam"].post(
        "/api/v1/tickets", {**NEW, "priority": "asap"}, content_type="application/json", headers={"Idempotency-Key": "k-3"}
    )
    assert good.status_code == 422  # same body, still invalid, still not stored
    fixed = api_as["sam"].post("/api/v1/tickets", NEW, content_type="application/json", headers={"Idempotency-Key": "k-3"})
    assert fixed.status_code == 201


def test_a_malformed_key_is_422(world: World, api_as: dict[str, Client]) -> None:
    response = api_as["sam"].post("/api/v1/tickets", NEW, content_type="application/json", headers={"Idempotency-Key": "a b"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "Idempotency-Key", "message": "Use 1 to 255 printable ASCII characters."}]


# --- listing --------------------------------------------------------------------------------------


def test_cursor_pagination_walks_every_ticket_once(world: World, api_as: dict[str, Client]) -> None:
    for n in range(5):
        api_as["sam"].post("/api/v1/tickets", {**NEW, "subject": f"T{n}"}, content_type="application/json")
    seen: list[int] = []
    cursor = ""
    pages = 0
    while True:
        page = api_as["sam"].get(f"/api/v1/tickets?limit=3{cursor}").json()
        seen += [t["id"] for t in page["items"]]
        pages += 1
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert pages == 3
    assert seen == sorted(Ticket.objects.values_list("pk", flat=True), reverse=True)


def test_filters(world: World, api_as: dict[str, Client]) -> None:
    client = api_as["sam"]
    assert [t["id"] for t in client.get(f"/api/v1/tickets?team_id={world.finance.pk}").json()["items"]] == [world.ticket_b.pk]
    assert [t["id"] for t in client.get("/api/v1/tickets?channel=web&channel=chat").json()["items"]] == [world.ticket_b.pk]
    assert [t["id"] for t in client.get("/api/v1/tickets?q=balance").json()["items"]] == [world.ticket_a.pk]
    assert [t["id"] for t in client.get(f"/api/v1/tickets?q=%23{world.ticket_b.number}").json()["items"]] == [world.ticket_b.pk]
    bad = client.get("/api/v1/tickets?status=sleeping&limit=0&cursor=zzz")
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"status.0", "limit"}
    assert client.get("/api/v1/tickets?cursor=zzz").json()["errors"] == [
        {"field": "cursor", "message": "Not a cursor this API gave out; start again without it."}
    ]


def test_list_query_count_does_not_grow_with_the_page(world: World, api_as: dict[str, Client]) -> None:
    client = api_as["sam"]
    client.get("/api/v1/tickets")  # warm the token's last-used stamp
    with CaptureQueriesContext(connection) as small:
        client.get("/api/v1/tickets")
    for n in range(10):
        client.post("/api/v1/tickets", {**NEW, "subject": f"T{n}", "tags": ["a", f"t{n}"]}, content_type="application/json")
    with CaptureQueriesContext(connection) as large:
        response = client.get("/api/v1/tickets")
    assert len(response.json()["items"]) == 12
    # token + role + page + tags prefetch, whatever the page size
    assert len(small.captured_queries) == len(large.captured_queries) == 4


def test_admins_create_categories(world: World, api_as: dict[str, Client]) -> None:
    created = api_as["admin"].post("/api/v1/categories", {"name": "Account balance"}, content_type="application/json")
    assert (created.status_code, created.json()["slug"]) == (201, "account-balance")
    assert [c["slug"] for c in api_as["sam"].get("/api/v1/categories").json()] == ["account-balance"]
    again = api_as["admin"].post("/api/v1/categories", {"name": "account  balance"}, content_type="application/json")
    assert (again.status_code, again.json()["errors"]) == (
        422,
        [{"field": "name", "message": "A category named 'account balance' exists already."}],
    )
    assert api_as["sam"].post("/api/v1/categories", {"name": "Other"}, content_type="application/json").status_code == 403
    ticket = api_as["sam"].post("/api/v1/tickets", {**NEW, "category": "account-balance"}, content_type="application/json")
    assert ticket.json()["category"] == "account-balance"
