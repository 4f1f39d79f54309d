"""The background worker: `escalada worker`.

It wakes, runs every job that is due and sleeps again: SLA warnings and breaches every turn,
housekeeping less often; later issues add the escalation ladder and outbox delivery as jobs. Each job's own rows carry their due instants,
so a job only ever touches rows that are due (an indexed range scan), never all tickets.
Tests call `run_once(now=…)` directly.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType

from django.db import close_old_connections
from django.utils import timezone

from escalada.accounts.services import idempotency_key_purge
from escalada.desk.ladder import escalation_fire_due
from escalada.desk.mail import mail_process_pending
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
    ]


@dataclass
class Worker:
    jobs: list[Job] = field(default_factory=default_jobs)
    poll: timedelta = timedelta(milliseconds=250)
    stop_event: threading.Event = field(default_factory=threading.Event)

    def run_once(self, *, now: datetime) -> dict[str, int]:
        """Run each job that is due at `now`; returns how many rows each one handled."""
        done: dict[str, int] = {}
        for job in self.jobs:
            if job.next_run_at is not None and job.next_run_at > now:
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
        while not self.stop_event.is_set():
            close_old_connections()
            self.run_once(now=timezone.now())
            self.stop_event.wait(self.poll.total_seconds())
        close_old_connections()
        logger.info("worker stopped")
