"""How the workers are doing: heartbeats and the oldest overdue timer, for /health and
`escalada doctor`. Each figure is an indexed lookup (MIN over a partial index), never a scan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from escalada.base.models import WorkerHeartbeat
from escalada.base.sql import instant
from escalada.escalations.models import EscalationStep, StepState
from escalada.notifications.models import PENDING_STATES, OutboxMessage
from escalada.sla.models import Clock

STALE_HEARTBEAT = timedelta(seconds=60)
OVERDUE_ALARM = timedelta(seconds=60)


def next_due() -> dict[str, datetime | None]:
    """The earliest due instant of each kind of timer, in one statement (the idle worker asks
    before every wait): each an ordered lookup on its partial index."""
    firsts = {
        "sla_clock": Clock.objects.filter(next_fire_at__isnull=False).order_by("next_fire_at").values("next_fire_at"),
        "ladder_step": EscalationStep.objects.filter(state=StepState.PENDING, due_at__isnull=False)
        .order_by("due_at")
        .values("due_at"),
        "outbox": OutboxMessage.objects.filter(state__literal_in=PENDING_STATES, next_attempt_at__isnull=False)
        .order_by("next_attempt_at")
        .values("next_attempt_at"),
    }
    parts, params = [], []
    for query in firsts.values():
        sql, part_params = query[:1].query.sql_with_params()
        parts.append(f"({sql})")
        params += list(part_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return {name: instant(value) for name, value in zip(firsts, row, strict=True)}


@dataclass(frozen=True)
class Health:
    workers: list[dict[str, Any]]
    oldest_overdue: dict[str, Any] | None
    problems: list[str]

    @property
    def is_ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.is_ok else "degraded",
            "workers": self.workers,
            "oldest_overdue": self.oldest_overdue,
            "problems": self.problems,
        }


def health(*, now: datetime) -> Health:
    workers: list[dict[str, Any]] = [
        {"name": beat.name, "beat_at": beat.beat_at.isoformat(), "seconds_ago": round((now - beat.beat_at).total_seconds(), 1)}
        for beat in WorkerHeartbeat.objects.order_by("name")
    ]
    live = [w for w in workers if w["seconds_ago"] <= STALE_HEARTBEAT.total_seconds()]
    problems = [] if live else ["No worker has reported in the last minute: start `escalada worker`."]
    overdue = {kind: at for kind, at in next_due().items() if at is not None and at <= now}
    oldest = None
    if overdue:
        kind, at = min(overdue.items(), key=lambda item: item[1])
        late = now - at
        oldest = {"kind": kind, "due_at": at.isoformat(), "seconds_overdue": round(late.total_seconds(), 3)}
        if late > OVERDUE_ALARM:
            what = {"sla_clock": "An SLA clock", "ladder_step": "A ladder step", "outbox": "An outbox message"}[kind]
            problems.append(f"{what} has been overdue for {int(late.total_seconds())} s.")
    return Health(workers=workers, oldest_overdue=oldest, problems=problems)
