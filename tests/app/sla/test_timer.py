"""The timer worker warns and breaches each clock once, dated at the instant that was due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalada.audit.models import Event
from escalada.desk import verbs
from escalada.sla import clocks
from escalada.sla.models import Clock
from escalada.worker import Worker
from tests.app.conftest import World
from tests.app.sla.scenario import berlin, berlin_calendar, clock, open_ticket, standard_policy

pytestmark = pytest.mark.django_db

TICK = timedelta(microseconds=1)


def timer_events(ticket_id: int) -> list[tuple[str, str, str, str]]:
    rows = Event.objects.filter(subject_id=ticket_id, kind__in=["sla.warning", "sla.breached"]).order_by("seq")
    return [(e.kind, e.after["metric"], e.after["due_at"], e.after["fired_at"]) for e in rows]


def test_warning_then_breach_fire_once_each_at_their_instants(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 10))
    worker = Worker()
    assert worker.run_once(now=berlin(23, 10, 45) - TICK)["sla_fire_due"] == 0
    assert worker.run_once(now=berlin(23, 10, 45))["sla_fire_due"] == 1
    assert worker.run_once(now=berlin(23, 10, 46))["sla_fire_due"] == 0  # never twice
    first = clock(ticket, "first_response")
    assert (first.state, first.warned_at, first.warn_at, first.next_fire_at) == (
        "running",
        berlin(23, 10, 45),
        None,
        berlin(23, 11),
    )
    assert worker.run_once(now=berlin(23, 11))["sla_fire_due"] == 1
    assert worker.run_once(now=berlin(23, 11, 1))["sla_fire_due"] == 0
    first = clock(ticket, "first_response")
    assert (first.state, first.breached_at, first.next_fire_at) == ("breached", berlin(23, 11), None)
    assert timer_events(ticket.pk) == [
        ("sla.warning", "first_response", "2026-11-23T10:00:00Z", "2026-11-23T09:45:00Z"),
        ("sla.breached", "first_response", "2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z"),
    ]
    # Answering late fulfils the clock and keeps the breach on record.
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Sorry for the wait", now=berlin(23, 11, 30))
    first = clock(ticket, "first_response")
    assert (first.state, first.breached_at, first.fulfilled_at) == ("fulfilled", berlin(23, 11), berlin(23, 11, 30))


def test_after_downtime_both_fire_in_one_pass_dated_at_their_own_instants(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 10))
    assert clocks.sla_fire_due(now=berlin(24, 12)) == 4  # both clocks: warning and breach each
    assert [(kind, metric, due) for kind, metric, due, _ in timer_events(ticket.pk)] == [
        ("sla.warning", "first_response", "2026-11-23T10:00:00Z"),
        ("sla.breached", "first_response", "2026-11-23T10:00:00Z"),
        ("sla.warning", "resolution", "2026-11-24T09:00:00Z"),
        ("sla.breached", "resolution", "2026-11-24T09:00:00Z"),
    ]
    assert clock(ticket, "resolution").breached_at == berlin(24, 10)


def test_a_paused_clock_is_not_fired_and_a_due_one_is_fired_before_it_pauses(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 10))
    # The first response's breach instant (11:00) passed and no worker ran yet: the reply at
    # 11:05 records the breach first, then fulfils the clock.
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Need your invoice", status="pending", now=berlin(23, 11, 5))
    assert [kind for kind, *_ in timer_events(ticket.pk)] == ["sla.warning", "sla.breached"]
    first, resolution = clock(ticket, "first_response"), clock(ticket, "resolution")
    assert (first.state, first.breached_at, first.fulfilled_at) == ("fulfilled", berlin(23, 11), berlin(23, 11, 5))
    assert (resolution.state, resolution.next_fire_at) == ("paused", None)
    assert clocks.sla_fire_due(now=berlin(30, 12)) == 0  # nothing runs while the customer is asked


def test_a_stale_read_fires_nothing(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 10))
    row = clock(ticket, "first_response")
    stale_fence = row.fence
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Hi", now=berlin(23, 10, 40))
    assert clocks._fire_one(pk=row.pk, fence=stale_fence, now=berlin(23, 11)) == 0
    assert clock(ticket, "first_response").state == "fulfilled"
    assert timer_events(ticket.pk) == []


def test_the_worker_reads_only_due_rows(world: World) -> None:
    standard_policy(berlin_calendar())
    for hour in (10, 11, 12):
        open_ticket(world, berlin(23, hour))
    # Nothing due: one indexed query, whatever the number of tickets.
    with CaptureQueriesContext(connection) as queries:
        assert clocks.sla_fire_due(now=berlin(23, 10, 44)) == 0
    assert len(queries) == 1
    assert "next_fire_at" in queries[0]["sql"]
    assert Clock.objects.filter(next_fire_at__isnull=False).count() == 6
