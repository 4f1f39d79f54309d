"""Worker health: heartbeats, the oldest overdue timer, /health, `escalada doctor`, wake-ups."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from escalada.base.models import WorkerHeartbeat
from escalada.base.wake import wake_workers
from escalada.cli import main
from escalada.insights.health import health
from escalada.worker import WakeListener, Worker
from tests.app.conftest import World
from tests.app.sla.scenario import berlin_calendar, open_ticket, standard_policy


@pytest.mark.django_db
def test_health_reports_missing_workers_and_overdue_timers(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    now = timezone.now()
    report = health(now=now)
    assert (report.is_ok, report.problems) == (False, ["No worker has reported in the last minute: start `escalada worker`."])
    assert Client().get("/health").status_code == 503
    WorkerHeartbeat.objects.create(name="host:1", started_at=now, beat_at=now - timedelta(seconds=3))
    assert health(now=now).as_dict() == {
        "status": "ok",
        "workers": [{"name": "host:1", "beat_at": (now - timedelta(seconds=3)).isoformat(), "seconds_ago": 3.0}],
        "oldest_overdue": None,
        "problems": [],
    }
    assert Client().get("/health").status_code == 200
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, now - timedelta(days=10))  # its clocks are long overdue: no worker ran
    late = health(now=now)
    assert late.oldest_overdue is not None
    # The acknowledgement mail (queued ten days ago) is the oldest; the clocks are overdue too.
    assert (late.oldest_overdue["kind"], late.oldest_overdue["due_at"]) == ("outbox", (now - timedelta(days=10)).isoformat())
    assert late.problems[0].startswith("An outbox message has been overdue for ")
    assert main(["doctor"]) == 1
    output = capsys.readouterr().out
    assert "worker host:1: last seen" in output
    assert output.rstrip().endswith("NOT healthy")
    Worker().run_once(now=now)  # fires and sends everything due
    assert health(now=now).oldest_overdue is None
    assert ticket.sla_clocks.filter(next_fire_at__lte=now).count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's; SQLite workers poll")
def test_a_commit_that_writes_a_due_instant_wakes_a_listening_worker() -> None:
    listener = WakeListener.open()
    assert listener is not None
    woken = threading.Event()

    def wait() -> None:
        listener.wait(timedelta(seconds=10), threading.Event())
        woken.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    with transaction.atomic():
        wake_workers()
        wake_workers()  # once per transaction
    waiter.join(timeout=10)
    listener.close()
    assert woken.is_set()


@pytest.mark.django_db
def test_next_due_reads_each_kind_of_timer_in_one_statement(world: World) -> None:
    from django.test.utils import CaptureQueriesContext

    from escalada.escalations.models import EscalationStep
    from escalada.escalations.services import ladder_create
    from escalada.insights.health import next_due
    from escalada.notifications.models import OutboxMessage
    from escalada.sla.models import Clock

    standard_policy(berlin_calendar())
    level = {"trigger": "unresolved_for", "offset_minutes": 90, "business_time": False, "actions": [{"type": "webhook"}]}
    ladder_create(data={"name": "Ladder", "policy": None, "levels": [level]}, actor=None)
    at = timezone.now().replace(microsecond=250000) - timedelta(days=2)
    open_ticket(world, at)
    OutboxMessage.objects.update(state="sent")
    OutboxMessage.objects.filter(pk=OutboxMessage.objects.order_by("pk")[0].pk).update(
        state="failed", next_attempt_at=at + timedelta(minutes=7)
    )
    with CaptureQueriesContext(connection) as queries:
        due = next_due()
    assert len(queries.captured_queries) == 1
    first_clock = Clock.objects.exclude(next_fire_at=None).order_by("next_fire_at")[0].next_fire_at
    assert due == {"sla_clock": first_clock, "ladder_step": at + timedelta(minutes=90), "outbox": at + timedelta(minutes=7)}
    assert all(value is not None and value.utcoffset() == timedelta(0) for value in due.values())
    assert EscalationStep.objects.count() == 1
