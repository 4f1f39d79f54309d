"""Input that must be refused with a clear 4xx before it reaches the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.app.conftest import World, database_state

pytestmark = pytest.mark.django_db

NEW = {"subject": "S", "description": "D", "requester_email": "ana@northwind.example", "channel": "api"}
TOO_BIG = 2**63


def _counts() -> dict[str, list[dict[str, Any]]]:
    return database_state()


def test_nul_characters_are_refused_by_field(world: World, api_as: dict[str, Client]) -> None:
    before = _counts()
    body = api_as["sam"].post("/api/v1/tickets", {**NEW, "tags": ["ok", "bad\x00tag"]}, content_type="application/json")
    assert body.status_code == 422
    assert body.json()["errors"] == [{"field": "tags.1", "message": "Contains a NUL character, which is not allowed."}]
    query = api_as["sam"].get("/api/v1/tickets?q=a%00b")
    assert query.status_code == 422
    assert query.json()["errors"] == [{"field": "q", "message": "Contains a NUL character, which is not allowed."}]
    assert _counts() == before


def test_ids_beyond_64_bits_are_refused(world: World, api_as: dict[str, Client]) -> None:
    before = _counts()
    path = api_as["sam"].get(f"/api/v1/tickets/{TOO_BIG}")
    assert (path.status_code, path.json()["code"]) == (404, "not_found")
    body = api_as["sam"].post("/api/v1/tickets", {**NEW, "team_id": TOO_BIG}, content_type="application/json")
    assert body.status_code == 422
    assert body.json()["errors"] == [{"field": "team_id", "message": f"Input should be less than or equal to {TOO_BIG - 1}"}]
    query = api_as["sam"].get(f"/api/v1/tickets?assignee_id={TOO_BIG}")
    assert (query.status_code, query.json()["errors"][0]["field"]) == (422, "assignee_id")
    contacts = api_as["sam"].get(f"/api/v1/contacts?organization_id={TOO_BIG}")
    assert (contacts.status_code, contacts.json()["errors"][0]["field"]) == (422, "organization_id")
    assert api_as["sam"].get("/api/v1/tickets?cursor=aWQ6OTk5OTk5OTk5OTk5OTk5OTk5OTk5").status_code == 422
    assert _counts() == before


def test_unknown_api_paths_answer_json_and_pages_answer_html(
    world: World, api_as: dict[str, Client], web_as: dict[str, Client]
) -> None:
    api = api_as["sam"].get("/api/v1/tickets/abc")
    assert (api.status_code, api.json()) == (
        404,
        {"detail": "No such address in this API; see /api/docs.", "code": "not_found", "errors": []},
    )
    page = web_as["sam"].get("/tickets/99999999999999999999/")
    assert page.status_code == 404
    assert "This page does not exist, or you may not see it." in page.content.decode()


def test_arrays_and_scalars_instead_of_objects(world: World, api_as: dict[str, Client]) -> None:
    before = _counts()
    for raw in ("[1, 2]", '"text"', "null", ""):
        response = api_as["sam"].post("/api/v1/tickets", raw, content_type="application/json")
        assert response.status_code == 422, raw
        assert response.json()["code"] == "validation_failed"
    assert _counts() == before


def test_csrf_failure_says_what_to_send(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.sam.user)
    response = client.post("/api/v1/tickets", NEW, content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Send the csrftoken cookie's value in an X-CSRFToken header, or use a bearer token.",
        "code": "csrf_failed",
        "errors": [],
    }


def test_csv_with_nul_bytes_is_refused(world: World, api_as: dict[str, Client]) -> None:
    response = api_as["admin"].post("/api/v1/organizations/import", "name\nA\x00B\n", content_type="text/csv")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "file", "message": "The file contains NUL characters; is it a spreadsheet rather than CSV?"}
    ]
