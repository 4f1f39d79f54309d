from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from escalada.accounts.models import ApiToken, IdempotencyKey
from escalada.accounts.selectors import user_from_api_token
from escalada.accounts.services import api_token_create, api_token_revoke
from escalada.audit.models import Event
from tests.app.conftest import World
from tests.app.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_token_is_shown_once_and_stored_hashed(world: World) -> None:
    issued = api_token_create(user=world.sam.user, name="CRM sync", actor=world.sam.user)
    prefix, secret = issued.plaintext.split("_", 2)[1:]
    row = ApiToken.objects.get(pk=issued.token.pk)
    assert (row.prefix, row.secret_hash) == (prefix, hashlib.sha256(secret.encode()).hexdigest())
    assert secret not in (row.secret_hash, row.prefix, row.name)
    assert user_from_api_token(token=issued.plaintext) == world.sam.user
    event = Event.objects.filter(kind="api_token.created").get()
    assert event.after == {"token_id": row.pk, "name": "CRM sync", "prefix": prefix}


def test_secrets_with_underscores_work() -> None:
    # token_urlsafe secrets contain "_" about half the time; the token splits only twice.
    assert user_from_api_token(token="esc_abcd_x_y") is None  # unknown, but parsed without error


def test_revoked_token_is_refused(world: World) -> None:
    issued = api_token_create(user=world.sam.user, name="old", actor=world.sam.user)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issued.plaintext}")
    assert client.get("/api/v1/me").status_code == 200
    api_token_revoke(user=world.sam.user, token_id=issued.token.pk, actor=world.sam.user)
    assert client.get("/api/v1/me").status_code == 401
    assert client.post("/api/v1/tickets", {}, content_type="application/json").status_code == 401


def test_token_api_create_list_revoke(world: World, api_as: dict[str, Client]) -> None:
    created = api_as["sam"].post("/api/v1/me/tokens", {"name": "zapier"}, content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith(f"esc_{body['prefix']}_")
    listed = api_as["sam"].get("/api/v1/me/tokens").json()
    assert [t["name"] for t in listed] == ["zapier", "tests"]
    assert "token" not in listed[0]
    assert api_as["fin"].delete(f"/api/v1/me/tokens/{body['id']}").status_code == 404  # not fin's token
    revoked = api_as["sam"].delete(f"/api/v1/me/tokens/{body['id']}")
    assert (revoked.status_code, revoked.json()["revoked_at"] is not None) == (200, True)


def test_me(world: World, api_as: dict[str, Client]) -> None:
    assert api_as["sam"].get("/api/v1/me").json() == {
        "id": world.sam.user.pk,
        "username": "sam",
        "name": "Sam Carter",
        "email": "sam@escalada.test",
        "role": "agent",
        "team_ids": [world.support.pk],
        "contact_id": None,
        "organization_id": None,
    }
    ana = api_as["ana"].get("/api/v1/me").json()
    assert (ana["role"], ana["contact_id"], ana["organization_id"]) == ("customer", world.ana.pk, world.northwind.pk)
    assert api_as["morgan"].get("/api/v1/me").json()["role"] == "escalation_manager"
    assert api_as["admin"].get("/api/v1/me").json()["role"] == "admin"


def test_teams_and_agents(world: World, api_as: dict[str, Client]) -> None:
    teams = api_as["sam"].get("/api/v1/teams").json()
    assert [(t["name"], t["tier_count"]) for t in teams] == [("Finance", 2), ("Support", 3)]
    assert api_as["ana"].get("/api/v1/teams").status_code == 403
    agents = api_as["sam"].get(f"/api/v1/agents?team_id={world.support.pk}").json()
    assert [(a["username"], a["tier"], a["team_ids"]) for a in agents] == [("sam", 1, [world.support.pk])]
    denied = api_as["sam"].post("/api/v1/teams", {"name": "Legal"}, content_type="application/json")
    assert denied.status_code == 403
    made = api_as["admin"].post("/api/v1/teams", {"name": "Legal", "tier_count": 2}, content_type="application/json")
    assert (made.status_code, made.json()["slug"]) == (201, "legal")
    agent = api_as["admin"].post(
        "/api/v1/agents",
        {"username": "lee", "email": "lee@escalada.test", "team_ids": [made.json()["id"], 999], "tier": 2},
        content_type="application/json",
    )
    assert agent.status_code == 422
    assert agent.json()["errors"] == [{"field": "team_ids", "message": "No team with id 999."}]


def test_login_page_and_sign_in(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    assert page.status_code == 200
    token = page.cookies["csrftoken"].value
    response = client.post("/login/", {"username": "sam", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert (response.status_code, response["Location"]) == (302, "/tickets/")


def test_login_without_csrf_is_refused(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "sam", "password": PASSWORD})
    assert response.status_code == 403


def test_session_api_calls_need_csrf_for_writes(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.sam.user)
    assert client.get("/api/v1/me").status_code == 200
    refused = client.post("/api/v1/me/tokens", {"name": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert ApiToken.objects.count() == 0


def test_login_is_rate_limited(world: World) -> None:
    client = Client()
    statuses = [client.post("/login/", {"username": "sam", "password": "wrong"}).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    locked = client.post("/login/", {"username": "sam", "password": PASSWORD})
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    # another user from the same address is not locked out
    assert client.post("/login/", {"username": "fin", "password": PASSWORD}).status_code == 302
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert Client().post("/login/", {"username": "sam", "password": PASSWORD}).status_code == 302


def test_expired_idempotency_key_can_be_reused(world: World, api_as: dict[str, Client]) -> None:
    body = {"subject": "S", "description": "D", "requester_email": "ana@northwind.example", "channel": "api"}
    first = api_as["sam"].post("/api/v1/tickets", body, content_type="application/json", headers={"Idempotency-Key": "old"})
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    second = api_as["sam"].post("/api/v1/tickets", body, content_type="application/json", headers={"Idempotency-Key": "old"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["id"] != first.json()["id"]
    assert second.has_header("Idempotent-Replayed") is False
    assert IdempotencyKey.objects.count() == 1
