"""Who hears what inside the support organisation: rules, quiet hours, sev1, chat via apprise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, time
from typing import Any

import pytest
from django.test import Client

from escalada.desk import verbs
from escalada.notifications import delivery
from escalada.notifications.internal import notification_rule_create, quiet_hours_set
from escalada.notifications.models import OutboxMessage, OutboxState
from escalada.sla.clocks import sla_fire_due
from tests.app.conftest import World, database_state
from tests.app.notifications.sinks import HttpSink, http_sink
from tests.app.sla.scenario import berlin, berlin_calendar, standard_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat() -> Iterator[HttpSink]:
    yield from http_sink()


def breach_rule(world: World, **extra: Any) -> None:
    world.sam.user.email = "sam@escalada.example"
    world.sam.user.save(update_fields=["email"])
    notification_rule_create(
        data={
            "name": "Support breaches",
            "event_types": ["sla.warning", "sla.breached"],
            "team": world.support,
            "notify_assignee": True,
            "emails": ["cx-leads@escalada.example"],
            **extra,
        },
        actor=None,
    )


def internal_mail(kind: str) -> list[tuple[str, str, datetime | None]]:
    rows = OutboxMessage.objects.filter(kind=kind).order_by("recipient")
    return [(m.recipient, m.subject, m.next_attempt_at) for m in rows]


def test_a_breach_reaches_the_assignee_and_the_stakeholders_but_quiet_hours_wait(world: World) -> None:
    standard_policy(berlin_calendar())
    breach_rule(world)
    quiet_hours_set(user=world.sam.user, start=time(10, 30), end=time(12), time_zone="Europe/Berlin")
    ticket = verbs.ticket_open(
        subject="Balance wrong",
        description="x",
        requester=world.ana,
        channel="email",
        actor=None,
        team=world.support,
        assignee=world.sam.user,
        priority="high",
        now=berlin(23, 10),
    )
    assert sla_fire_due(now=berlin(23, 11)) == 2  # first response: warning (10:45) and breach (11:00)
    assert internal_mail("internal.sla.breached") == [
        ("cx-leads@escalada.example", f"[#{ticket.number}] SLA breached (first response): Balance wrong", berlin(23, 11)),
        (
            "sam@escalada.example",
            f"[#{ticket.number}] SLA breached (first response): Balance wrong",
            berlin(23, 12),
        ),  # after his quiet hours
    ]
    body = OutboxMessage.objects.filter(kind="internal.sla.breached").first()
    assert body is not None
    assert f"http://127.0.0.1:8000/tickets/{ticket.pk}/" in body.body_text
    assert "Due: 2026-11-23T10:00:00Z" in body.body_text


def test_sev1_wakes_people_and_other_teams_hear_nothing(world: World) -> None:
    standard_policy(berlin_calendar())
    breach_rule(world)
    quiet_hours_set(user=world.sam.user, start=time(10, 30), end=time(12), time_zone="Europe/Berlin")
    verbs.ticket_open(
        subject="Outage",
        description="x",
        requester=world.ana,
        channel="phone",
        actor=None,
        team=world.support,
        assignee=world.sam.user,
        priority="high",
        severity="sev1",
        now=berlin(23, 10),
    )
    verbs.ticket_open(
        subject="Refund",
        description="x",
        requester=world.bob,
        channel="web",
        actor=None,
        team=world.finance,
        priority="high",
        now=berlin(23, 10),
    )
    sla_fire_due(now=berlin(23, 11))
    sent_at = {recipient: at for recipient, _, at in internal_mail("internal.sla.breached")}
    assert sent_at == {
        "cx-leads@escalada.example": berlin(23, 11),
        "sam@escalada.example": berlin(23, 11),
    }  # Finance's breach: no rule


def test_chat_messages_go_through_apprise(world: World, chat: HttpSink) -> None:
    notification_rule_create(
        data={
            "name": "Chat",
            "event_types": ["ticket.created"],
            "severities": ["sev1"],
            "chat_url": chat.url.replace("http://", "json://"),
        },
        actor=None,
    )
    ticket = verbs.ticket_open(
        subject="Everything is down",
        description="x",
        requester=world.ana,
        channel="phone",
        actor=None,
        severity="sev1",
        now=datetime(2026, 11, 23, 9, tzinfo=UTC),
    )
    verbs.ticket_open(subject="Minor", description="x", requester=world.ana, channel="phone", actor=None, severity="sev3")
    message = OutboxMessage.objects.get(channel="chat")
    assert delivery.outbox_deliver_due(now=datetime(2026, 11, 23, 9, 1, tzinfo=UTC)) >= 1
    message.refresh_from_db()
    assert message.state == OutboxState.SENT
    ((headers, body),) = chat.requests
    posted = json.loads(body)
    assert posted["title"] == f"[#{ticket.number}] New ticket: Everything is down"
    assert posted["message"].startswith(f"New ticket on ticket #{ticket.number}: Everything is down")


def test_rule_and_quiet_hours_api(world: World, api_as: dict[str, Client]) -> None:
    before = database_state()
    bad = api_as["admin"].post(
        "/api/v1/notification-rules",
        json.dumps(
            {
                "name": "x",
                "event_types": ["sla.exploded"],
                "emails": ["not-an-address"],
                "chat_url": "nonsense://",
                "team_id": 999,
            }
        ),
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["team_id"]  # references first
    bad = api_as["admin"].post(
        "/api/v1/notification-rules",
        json.dumps({"name": "x", "event_types": ["sla.exploded"], "emails": ["not-an-address"], "chat_url": "nonsense://"}),
        content_type="application/json",
    )
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["chat_url", "emails[0]", "event_types"]
    nobody = api_as["admin"].post(
        "/api/v1/notification-rules", json.dumps({"name": "x", "event_types": ["sla.breached"]}), content_type="application/json"
    )
    assert [e["field"] for e in nobody.json()["errors"]] == ["recipients"]
    assert (
        api_as["sam"]
        .post(
            "/api/v1/notification-rules",
            json.dumps({"name": "x", "event_types": ["sla.breached"], "notify_assignee": True}),
            content_type="application/json",
        )
        .status_code
        == 403
    )
    assert database_state() == before
    created = api_as["admin"].post(
        "/api/v1/notification-rules",
        json.dumps(
            {
                "name": "Leads",
                "event_types": ["sla.warning"],
                "team_id": world.support.pk,
                "notify_team_leads": True,
                "category": None,
            }
        ),
        content_type="application/json",
    )
    assert (created.status_code, created.json()["team_id"], created.json()["has_chat"]) == (201, world.support.pk, False)
    quiet = api_as["sam"].put(
        "/api/v1/me/quiet-hours",
        json.dumps({"start": "22:00", "end": "07:00", "time_zone": "Europe/Berlin"}),
        content_type="application/json",
    )
    assert quiet.json() == {"start": "22:00:00", "end": "07:00:00", "time_zone": "Europe/Berlin"}
    wrong = api_as["sam"].put(
        "/api/v1/me/quiet-hours",
        json.dumps({"start": "22:00", "end": None, "time_zone": "Mars/Base"}),
        content_type="application/json",
    )
    assert sorted(e["field"] for e in wrong.json()["errors"]) == ["end", "time_zone"]
    off = api_as["sam"].put("/api/v1/me/quiet-hours", json.dumps({"start": None, "end": None}), content_type="application/json")
    assert off.json() == {"start": None, "end": None, "time_zone": None}
