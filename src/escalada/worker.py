"""The background worker: `escalada worker`.

It wakes, runs every job that is due and sleeps again: SLA warnings and breaches every turn,
housekeeping less often; later issues add the escalation ladder and outbox delivery as jobs. Each job's own rows carry their due instants,
so a job only ever touches rows that are due (an indexed range scan), never all tickets.
Tests call `run_once(now=…)` directly.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from django.db import close_old_connections, connection
from django.utils import timezone

from escalada.accounts.services import idempotency_key_purge
from escalada.base.models import WorkerHeartbeat
from escalada.base.wake import CHANNEL
from escalada.desk.ladder import escalation_fire_due
from escalada.desk.mail import mail_process_pending
from escalada.escalations.runs import runs_follow_moved_times
from escalada.insights.health import health, next_due
from escalada.insights.services import rollup_catch_up
from escalada.notifications.delivery import outbox_deliver_due
from escalada.sla.clocks import sla_fire_due

logger = logging.getLogger("escalada.worker")


@dataclass
class Job:
    name: str
    every: timedelta
    run: Callable[[datetime], int]
    next_run_at: datetime | None = None


def default_jobs() -> list[Job]:
    return [
        # Every turn: claims only the clocks whose warning or breach instant has come (indexed).
        Job(name="sla_fire_due", every=timedelta(0), run=lambda now: sla_fire_due(now=now)),
        # Every turn: fires only the ladder steps that are due (indexed).
        Job(name="escalation_fire_due", every=timedelta(0), run=lambda now: escalation_fire_due(now=now)),
        # Every turn: sends only the outbox messages that are due (indexed).
        Job(name="outbox_deliver_due", every=timedelta(0), run=lambda now: outbox_deliver_due(now=now)),
        # Mail stored but never processed (a listener that died in between).
        Job(name="mail_process_pending", every=timedelta(seconds=30), run=lambda now: mail_process_pending(now=now)),
        Job(name="idempotency_key_purge", every=timedelta(minutes=5), run=lambda now: idempotency_key_purge(now=now)),
        # The report rollups: tickets changed since the last turn (marked in their own transaction).
        Job(
            name="report_rollups",
            every=ROLLUP_EVERY,
            run=lambda now: _briefly(lambda: rollup_catch_up(limit=ROLLUP_BATCH), ROLLUP_BATCH),
        ),
        # Ladder steps of tickets whose SLA times a calendar edit moved (marked by the edit).
        Job(
            name="ladder_follow_moved_times",
            every=ROLLUP_EVERY,
            run=lambda now: _briefly(lambda: runs_follow_moved_times(now=now, limit=FOLLOW_BATCH), FOLLOW_BATCH),
        ),
        # The auditor: says so in the log when a timer is overdue by more than a minute.
        Job(name="overdue_audit", every=timedelta(minutes=1), run=_audit_overdue),
    ]


ROLLUP_EVERY = timedelta(seconds=2)
TURN_SECONDS = 0.05
ROLLUP_BATCH = 100
FOLLOW_BATCH = 20


def _briefly(take: Callable[[], int], batch: int) -> int:
    """Background catch-up (report rollups, ladders following a calendar edit), a small batch
    at a time, giving the turn back as soon as a timer is due or 50 ms have passed: SLA breaches
    and ladder steps must not wait behind it (a burst is taken over several turns)."""
    started, done = time.monotonic(), 0
    while True:
        taken = take()
        done += taken
        if taken < batch or time.monotonic() - started > TURN_SECONDS:
            return done
        due = [at for at in next_due().values() if at is not None]
        if due and min(due) <= timezone.now():
            return done


def _audit_overdue(now: datetime) -> int:
    report = health(now=now)
    overdue = report.oldest_overdue
    if overdue is not None and overdue["seconds_overdue"] > 60:
        logger.warning(
            "overdue: the oldest %s was due at %s (%s s ago)", overdue["kind"], overdue["due_at"], overdue["seconds_overdue"]
        )
        return 1
    return 0


@dataclass
class Worker:
    jobs: list[Job] = field(default_factory=default_jobs)
    poll: timedelta = timedelta(milliseconds=250)
    stop_event: threading.Event = field(default_factory=threading.Event)

    def run_once(self, *, now: datetime, timers: bool = True) -> dict[str, int]:
        """Run each job that is due at `now`; returns how many rows each one handled. With
        `timers` false (woken for an interval job while no timer is due) the every-turn timer
        jobs are skipped: they would only find nothing."""
        done: dict[str, int] = {}
        for job in self.jobs:
            if job.next_run_at is not None and job.next_run_at > now:
                continue
            if not timers and job.every == timedelta(0):
                continue
            try:
                done[job.name] = job.run(now)
            except Exception:
                # One failing job must not stop the others; it is retried on its next turn.
                logger.exception("job %s failed", job.name)
                done[job.name] = 0
            job.next_run_at = now + job.every
            if done[job.name]:
                logger.info("job %s handled %d row(s)", job.name, done[job.name])
        return done

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        if not self.stop_event.is_set():
            logger.info("worker stopping (signal %s)", signum)
        self.stop_event.set()

    def run_forever(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        logger.info("worker started; jobs: %s", ", ".join(job.name for job in self.jobs))
        name = f"{socket.gethostname()}:{os.getpid()}"
        listener = WakeListener.open()
        beat_at: datetime | None = None
        try:
            while not self.stop_event.is_set():
                close_old_connections()
                now = timezone.now()
                due = [at for at in next_due().values() if at is not None]
                timers_due = bool(due) and min(due) <= now
                if timers_due or self._interval_job_due(now):
                    self.run_once(now=now, timers=timers_due)
                    now = timezone.now()
                    due = [at for at in next_due().values() if at is not None]
                if beat_at is None or now - beat_at >= HEARTBEAT_EVERY:
                    _heartbeat(name, now, is_first=beat_at is None)
                    beat_at = now
                wait = self._wait(now, due, listening=listener is not None)
                if listener is not None:
                    listener.wait(wait, self.stop_event)
                else:
                    self.stop_event.wait(wait.total_seconds())
        finally:
            if listener is not None:
                listener.close()
            WorkerHeartbeat.objects.filter(name=name).delete()
            close_old_connections()
        logger.info("worker stopped")

    def _interval_job_due(self, now: datetime) -> bool:
        return any(job.every > timedelta(0) and (job.next_run_at is None or job.next_run_at <= now) for job in self.jobs)

    def _wait(self, now: datetime, due: list[datetime], *, listening: bool) -> timedelta:
        """Until the nearest due instant or interval job; at most the poll (SQLite) or a few
        seconds (PostgreSQL, where a NOTIFY wakes us for anything nearer)."""
        longest = LISTEN_WAIT if listening else self.poll
        instants = [*due, *(job.next_run_at for job in self.jobs if job.every > timedelta(0) and job.next_run_at)]
        if not instants:
            return longest
        return max(timedelta(0), min(min(instants) - now, longest))


HEARTBEAT_EVERY = timedelta(seconds=5)
LISTEN_WAIT = timedelta(seconds=5)


def _heartbeat(name: str, now: datetime, *, is_first: bool) -> None:
    defaults = {"beat_at": now, **({"started_at": now} if is_first else {})}
    WorkerHeartbeat.objects.update_or_create(name=name, defaults=defaults, create_defaults={"started_at": now, "beat_at": now})


class WakeListener:
    """PostgreSQL LISTEN on its own connection: a NOTIFY (a nearer due instant was written)
    ends the wait at once."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    def open(cls) -> WakeListener | None:
        if connection.vendor != "postgresql":
            return None
        import psycopg

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("server_side_binding", None)
        conn = psycopg.connect(**params, autocommit=True)
        conn.execute(f"LISTEN {CHANNEL}")
        return cls(conn)

    def wait(self, timeout: timedelta, stop: threading.Event) -> None:
        seconds = min(timeout.total_seconds(), 1.0) if stop.is_set() else timeout.total_seconds()
        for _ in self.conn.notifies(timeout=seconds, stop_after=1):
            break

    def close(self) -> None:
        self.conn.close()
