"""How the workers are doing: heartbeats and the oldest overdue timer, for /health and
`escalada doctor`. Each figure is an indexed lookup (MIN over a partial index), never a scan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Min

from escalada.base.models import WorkerHeartbeat
from escalada.escalations.models import EscalationStep, StepState
from escalada.notifications.models import PENDING_STATES, OutboxMessage
from escalada.sla.models import Clock

STALE_HEARTBEAT = timedelta(seconds=60)
OVERDUE_ALARM = timedelta(seconds=60)


def next_due() -> dict[str, datetime | None]:
    """The earliest due instant of each kind of timer."""
    return {
        "sla_clock": Clock.objects.filter(next_fire_at__isnull=False).aggregate(at=Min("next_fire_at"))["at"],
        "ladder_step": EscalationStep.objects.filter(state=StepState.PENDING, due_at__isnull=False).aggregate(at=Min("due_at"))[
            "at"
        ],
        "outbox": OutboxMessage.objects.filter(state__in=PENDING_STATES).aggregate(at=Min("next_attempt_at"))["at"],
    }


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
