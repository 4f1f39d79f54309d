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
