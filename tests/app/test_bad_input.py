"""Input that must be refused with a clear 4xx before it reaches the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
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


def test_search_with_non_ascii_digits_and_nul_in_pages(
    world: World, api_as: dict[str, Client], web_as: dict[str, Client]
) -> None:
    # "²".isdigit() is true but int("²") fails: it must be searched as text, not as a number.
    assert api_as["sam"].get("/api/v1/tickets?q=%C2%B2").json()["items"] == []
    assert web_as["sam"].get("/tickets/?q=%C2%B2").status_code == 200
    for path in ("/contacts/?q=%00", "/organizations/?q=%00", "/tickets/?q=%00"):
        assert web_as["sam"].get(path).status_code == 200, path


def test_dates_must_have_a_zone_and_fit_in_utc(world: World, api_as: dict[str, Client]) -> None:
    naive = api_as["sam"].get("/api/v1/tickets?created_after=2026-11-01T00:00:00")
    assert (naive.status_code, naive.json()["errors"][0]["field"]) == (422, "created_after")
    for bad in ("0001-01-01T00:00:00%2B05:00", "9999-12-31T23:59:59-05:00"):
        response = api_as["sam"].get(f"/api/v1/tickets?created_before={bad}")
        assert response.status_code == 422, bad
        assert response.json()["errors"] == [
            {"field": "created_before", "message": "Value error, Lies outside the years 1 to 9999 once converted to UTC."}
        ]
    ok = api_as["sam"].get("/api/v1/tickets?created_after=2000-01-01T00:00:00%2B01:00")
    assert len(ok.json()["items"]) == 2


def test_deeply_nested_json_is_a_422(world: World, api_as: dict[str, Client]) -> None:
    before = _counts()
    response = api_as["sam"].post("/api/v1/tickets", "[" * 100_000, content_type="application/json")
    assert (response.status_code, response.json()["errors"]) == (422, [{"field": "body", "message": "Send a JSON object."}])
    assert _counts() == before


def test_csv_rows_longer_than_the_header_and_overlong_values(world: World, api_as: dict[str, Client]) -> None:
    before = _counts()
    extra = api_as["admin"].post("/api/v1/organizations/import", "name,tier\nAcme,premium,EXTRA\n", content_type="text/csv")
    assert extra.json()["errors"] == [{"field": "file", "message": "Line 2 has more fields than the header row."}]
    long_email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"
    overlong = api_as["admin"].post(
        "/api/v1/contacts/import", f"email,external_id\n{long_email},{'x' * 101}\n", content_type="text/csv"
    )
    assert overlong.status_code == 422
    assert overlong.json()["errors"] == [
        {"field": "line 2: email", "message": "An e-mail address has at most 254 characters."},
        {"field": "line 2: external_id", "message": "An external id has at most 100 characters."},
    ]
    assert _counts() == before


def test_names_equal_only_under_the_databases_case_rule(world: World, api_as: dict[str, Client]) -> None:
    # KELVIN SIGN lower-cases to "k" in the database but not under Python's iexact (UPPER) check.
    first = api_as["sam"].post("/api/v1/organizations", {"name": "\u212aelvin"}, content_type="application/json")
    assert first.status_code == 201
    before = _counts()
    second = api_as["sam"].post("/api/v1/organizations", {"name": "kelvin"}, content_type="application/json")
    if connection.vendor == "sqlite":  # SQLite's LOWER() folds ASCII only: two distinct names there
        assert second.status_code == 201
        return
    assert second.status_code == 422
    assert second.json()["errors"] == [
        {"field": "name", "message": "An organization with this name exists already (names are compared ignoring case)."}
    ]
    assert _counts() == before
