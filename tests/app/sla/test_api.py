"""The SLA API: calendars and policies with field-level 422s, the preview, a ticket's clocks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from escalada.audit.models import Event
from tests.app.conftest import World, database_state
from tests.app.sla.scenario import WEEKDAYS_9_TO_5, berlin, berlin_calendar, open_ticket, standard_policy

pytestmark = pytest.mark.django_db


def post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def patch(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.patch(path, json.dumps(body), content_type="application/json")


def field_errors(response: Any) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_calendar_crud_and_refusals(world: World, api_as: dict[str, Client]) -> None:
    body = {"name": "Berlin", "time_zone": "Europe/Berlin", "weekly": WEEKDAYS_9_TO_5, "holidays": ["2026-12-25"]}
    created = post(api_as["admin"], "/api/v1/sla/calendars", body)
    assert created.status_code == 201
    calendar = created.json()
    assert (calendar["name"], calendar["weekly"]["mon"], calendar["holidays"], calendar["version"]) == (
        "Berlin",
        [["09:00", "17:00"]],
        ["2026-12-25"],
        1,
    )
    before = database_state()
    overlap = patch(
        api_as["admin"], f"/api/v1/sla/calendars/{calendar['id']}", {"weekly": {"tue": [["09:00", "13:00"], ["12:30", "17:00"]]}}
    )
    assert overlap.status_code == 422
    assert field_errors(overlap) == {"weekly.tue": "tue: 09:00-13:00 and 12:30-17:00 overlap."}
    unknown = post(api_as["admin"], "/api/v1/sla/calendars", {**body, "name": "Mars", "time_zone": "Mars/Base"})
    assert field_errors(unknown) == {"time_zone": "'Mars/Base' is not an IANA time zone such as Europe/Berlin."}
    empty = post(api_as["admin"], "/api/v1/sla/calendars", {**body, "name": "Never", "weekly": {}})
    assert field_errors(empty) == {"weekly": "This calendar is never open: give it opening hours on at least one weekday."}
    assert post(api_as["sam"], "/api/v1/sla/calendars", {**body, "name": "Sam's"}).status_code == 403
    assert post(api_as["ana"], "/api/v1/sla/calendars", {**body, "name": "Ana's"}).status_code == 403
    assert api_as["ana"].get("/api/v1/sla/calendars").status_code == 403
    assert database_state() == before
    assert [c["name"] for c in api_as["sam"].get("/api/v1/sla/calendars").json()] == ["Berlin"]
    changed = patch(api_as["admin"], f"/api/v1/sla/calendars/{calendar['id']}", {"holidays": ["2026-12-24", "2026-12-25"]})
    assert (changed.status_code, changed.json()["version"], changed.json()["clocks_recomputed"]) == (200, 2, 0)
    assert api_as["admin"].get("/api/v1/sla/calendars/999").status_code == 404


def test_policy_crud_with_field_errors(world: World, api_as: dict[str, Client]) -> None:
    calendar = berlin_calendar()
    body = {
        "name": "Enterprise urgent",
        "rank": 10,
        "conditions": [
            {"field": "organization_tier", "operator": "is", "value": "enterprise"},
            {"field": "priority", "operator": "is", "value": "urgent"},
        ],
        "calendar_id": calendar.pk,
        "targets": [{"priority": "urgent", "metric": "first_response", "minutes": 30, "warn_percent": 80}],
    }
    created = post(api_as["admin"], "/api/v1/sla/policies", body)
    assert created.status_code == 201, created.json()
    policy = created.json()
    assert (policy["pause_statuses"]["resolution"], policy["targets"]) == (
        ["pending", "on_hold"],
        [{"priority": "urgent", "metric": "first_response", "minutes": 30, "warn_percent": 80, "warn_minutes_before": None}],
    )
    before = database_state()
    bad = post(
        api_as["admin"],
        "/api/v1/sla/policies",
        {
            **body,
            "name": "Enterprise Urgent",
            "calendar_id": 999,
            "conditions": [{"field": "vip", "operator": "is", "value": "yes"}],
        },
    )
    assert bad.status_code == 422
    assert field_errors(bad) == {"calendar_id": "There is no calendar 999."}
    bad = post(
        api_as["admin"],
        "/api/v1/sla/policies",
        {**body, "name": "enterprise urgent", "conditions": [{"field": "vip", "operator": "is", "value": "yes"}]},
    )
    assert field_errors(bad) == {
        "name": "A policy named 'enterprise urgent' exists already.",
        "conditions[0]": "vip is true or false.",
    }
    extra = post(api_as["admin"], "/api/v1/sla/policies", {**body, "name": "X", "colour": "red"})
    assert extra.status_code == 422
    assert database_state() == before
    changed = patch(api_as["admin"], f"/api/v1/sla/policies/{policy['id']}", {"rank": 5, "is_active": False})
    assert (changed.status_code, changed.json()["rank"], changed.json()["is_active"]) == (200, 5, False)
    assert [p["name"] for p in api_as["sam"].get("/api/v1/sla/policies").json()] == ["Enterprise urgent"]
    assert api_as["admin"].delete(f"/api/v1/sla/policies/{policy['id']}").status_code == 204
    assert api_as["sam"].get("/api/v1/sla/policies").json() == []


def test_a_ticket_shows_its_clocks_and_why_its_policy_matched(world: World, api_as: dict[str, Client]) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 10))
    data = api_as["sam"].get(f"/api/v1/tickets/{ticket.pk}").json()
    assert data["sla_policy"]["name"] == "Standard"
    assert data["sla_policy"]["reason"] == "matched: no conditions (the default policy)"
    first = data["sla"][0]
    assert {
        k: first[k] for k in ("metric", "cycle", "state", "started_at", "due_at", "warn_at", "breached_at", "fulfilled_at")
    } == {
        "metric": "first_response",
        "cycle": 1,
        "state": "running",
        "started_at": "2026-11-23T09:00:00Z",
        "due_at": "2026-11-23T10:00:00Z",
        "warn_at": "2026-11-23T09:45:00Z",
        "breached_at": None,
        "fulfilled_at": None,
    }
    assert [(c["metric"], c["state"]) for c in data["sla"]] == [("first_response", "running"), ("resolution", "running")]
    customer = api_as["ana"].get(f"/api/v1/tickets/{ticket.pk}").json()
    assert (customer["sla"], customer["sla_policy"]) == (None, None)
    tested = post(api_as["sam"], "/api/v1/sla/policies/test", {"ticket_id": ticket.pk}).json()
    assert tested == {
        "policy_id": tested["policy_id"],
        "name": "Standard",
        "reason": "matched: no conditions (the default policy)",
    }


def test_a_ticket_created_through_the_api_starts_its_clocks(world: World, api_as: dict[str, Client]) -> None:
    standard_policy(berlin_calendar())
    created = post(
        api_as["sam"],
        "/api/v1/tickets",
        {
            "subject": "Down",
            "description": "All down",
            "requester_email": "ana@northwind.example",
            "channel": "phone",
            "priority": "urgent",
        },
    )
    assert created.status_code == 201
    assert [(c["metric"], c["state"]) for c in created.json()["sla"]] == [
        ("first_response", "running"),
        ("resolution", "running"),
    ]


def test_preview_answers_when_a_target_is_due(world: World, api_as: dict[str, Client]) -> None:
    calendar = berlin_calendar(holidays=["2026-11-24"])
    saved = post(
        api_as["sam"], "/api/v1/sla/preview", {"calendar_id": calendar.pk, "start": "2026-11-23T15:00:00Z", "minutes": 120}
    )
    # Monday 16:00 Berlin: 1 h on Monday, Tuesday is a holiday, 1 h on Wednesday.
    assert saved.json() == {
        "due_at": "2026-11-25T09:00:00Z",
        "is_open_at_start": True,
        "counting_starts_at": "2026-11-23T15:00:00Z",
        "business_time": True,
    }
    unsaved = post(
        api_as["sam"],
        "/api/v1/sla/preview",
        {
            "calendar": {"time_zone": "America/New_York", "weekly": {"mon": [["22:00", "24:00"]], "tue": [["00:00", "06:00"]]}},
            "start": "2026-11-24T03:30:00Z",
            "minutes": 60,
        },
    )
    # An overnight shift is one stretch across midnight: 22:30 + 60 min = 23:30 New York.
    assert unsaved.json()["due_at"] == "2026-11-24T04:30:00Z"
    wall = post(api_as["sam"], "/api/v1/sla/preview", {"start": "2026-11-28T23:30:00+01:00", "minutes": 60})
    assert (wall.json()["due_at"], wall.json()["business_time"]) == ("2026-11-28T23:30:00Z", False)
    naive = post(api_as["sam"], "/api/v1/sla/preview", {"calendar_id": calendar.pk, "start": "2026-11-23T15:00:00", "minutes": 1})
    assert (naive.status_code, list(field_errors(naive))) == (422, ["start"])
    negative = post(
        api_as["sam"], "/api/v1/sla/preview", {"calendar_id": calendar.pk, "start": "2026-11-23T15:00:00Z", "minutes": -5}
    )
    assert field_errors(negative) == {"minutes": "A target cannot be negative."}
    too_far = post(api_as["sam"], "/api/v1/sla/preview", {"start": "2026-11-23T15:00:00Z", "minutes": 6_000_000})
    assert field_errors(too_far) == {"minutes": "A target can be at most 3653 days (ten years)."}
    bad_week = post(
        api_as["sam"],
        "/api/v1/sla/preview",
        {
            "calendar": {"time_zone": "UTC", "weekly": {"sat": [["10:00", "09:00"]]}},
            "start": "2026-11-23T15:00:00Z",
            "minutes": 1,
        },
    )
    assert field_errors(bad_week) == {"calendar.weekly.sat": "sat: an interval must close after it opens (10:00-09:00)."}
    assert post(api_as["ana"], "/api/v1/sla/preview", {"start": "2026-11-23T15:00:00Z", "minutes": 1}).status_code == 403


def test_ics_upload_through_the_api(world: World, api_as: dict[str, Client]) -> None:
    calendar = berlin_calendar()
    ics = b"BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:a\nDTSTART;VALUE=DATE:20261231\nEND:VEVENT\nEND:VCALENDAR\n"
    response = api_as["admin"].post(f"/api/v1/sla/calendars/{calendar.pk}/holidays/import", ics, content_type="text/calendar")
    assert (response.status_code, response.json()["holidays"]) == (200, ["2026-12-31"])
    refused = api_as["admin"].post(
        f"/api/v1/sla/calendars/{calendar.pk}/holidays/import", b"\xff\xfe", content_type="text/calendar"
    )
    assert refused.status_code == 422
    assert list(field_errors(refused)) == ["file"]


def test_team_and_customer_hours(world: World, api_as: dict[str, Client]) -> None:
    calendar = berlin_calendar()
    put = api_as["admin"].put(
        f"/api/v1/sla/organizations/{world.northwind.pk}/calendar",
        json.dumps({"calendar_id": calendar.pk}),
        content_type="application/json",
    )
    assert (put.status_code, put.json()) == (200, {"calendar_id": calendar.pk})
    assert world.northwind.sla_calendar.calendar_id == calendar.pk
    before = database_state()
    assert (
        api_as["sam"]
        .put(
            f"/api/v1/sla/teams/{world.support.pk}/calendar",
            json.dumps({"calendar_id": calendar.pk}),
            content_type="application/json",
        )
        .status_code
        == 403
    )
    missing = api_as["admin"].put(
        f"/api/v1/sla/teams/{world.support.pk}/calendar", json.dumps({"calendar_id": 999}), content_type="application/json"
    )
    assert field_errors(missing) == {"calendar_id": "There is no calendar 999."}
    assert (
        api_as["admin"]
        .put("/api/v1/sla/teams/999/calendar", json.dumps({"calendar_id": None}), content_type="application/json")
        .status_code
        == 404
    )
    assert database_state() == before
    cleared = api_as["admin"].put(
        f"/api/v1/sla/organizations/{world.northwind.pk}/calendar",
        json.dumps({"calendar_id": None}),
        content_type="application/json",
    )
    assert cleared.json() == {"calendar_id": None}
    kinds = list(
        Event.objects.filter(subject_type="organization", subject_id=world.northwind.pk, kind="sla.hours_linked").values_list(
            "after", flat=True
        )
    )
    assert kinds == [{"calendar_id": calendar.pk}, {"calendar_id": None}]


def test_preview_far_out_starts_are_422s(world: World, api_as: dict[str, Client]) -> None:
    late = post(api_as["sam"], "/api/v1/sla/preview", {"start": "9999-12-31T23:00:00+00:00", "minutes": 120})
    assert (late.status_code, field_errors(late)) == (
        422,
        {"start": "The due time would fall outside the years 1-9999; give a nearer start."},
    )
    early = post(
        api_as["sam"],
        "/api/v1/sla/preview",
        {
            "calendar": {"time_zone": "America/New_York", "weekly": {"mon": [["09:00", "17:00"]]}},
            "start": "0001-01-01T00:00:00+00:00",
            "minutes": 1,
        },
    )
    assert early.status_code == 422
    assert list(field_errors(early)) == ["start"]
