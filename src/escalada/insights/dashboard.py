"""The live dashboard: what is happening now, straight from the working tables. Every tile is a
count or a MIN over a partial index of open or due rows (open tickets, active escalations,
clocks due within the hour, breaches since midnight) — never a scan of all tickets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count

from escalada.accounts.models import Team
from escalada.escalations.models import ACTIVE_STATUSES, Escalation, EscalationStatus
from escalada.insights.facts import report_zone
from escalada.insights.health import health
from escalada.insights.models import OpenTicketCount
from escalada.notifications.models import OutboxMessage, OutboxState
from escalada.sla.models import Clock, ClockState
from escalada.tickets.models import AWAITING_AGENT_QUERY, OPEN_STATUS_VALUES, Ticket

# The conditions of the partial indexes, written into the SQL (base/lookups.py) so SQLite uses them.
OPEN_STATUSES = OPEN_STATUS_VALUES
SOON = timedelta(hours=1)


@dataclass(frozen=True)
class Dashboard:
    at: datetime
    open_by_status: dict[str, int]
    escalations_by_level: dict[int, int]
    escalations_by_status: dict[str, int]
    escalations_by_team: list[tuple[str, int]]
    breaching_soon_by_team: list[tuple[str, int]]
    breaching_soon: int
    breaches_today: int
    unacknowledged: int
    oldest_unacknowledged_at: datetime | None
    oldest_waiting: dict[str, Any] | None
    agent_load: list[tuple[str, int]]
    health: dict[str, Any]
    dead_letters: int

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "open_tickets": {"by_status": self.open_by_status, "total": sum(self.open_by_status.values())},
            "escalations": {
                "by_level": {str(level): n for level, n in self.escalations_by_level.items()},
                "by_status": self.escalations_by_status,
                "by_team": [{"team": name, "count": n} for name, n in self.escalations_by_team],
                "unacknowledged": self.unacknowledged,
                "oldest_unacknowledged_at": self.oldest_unacknowledged_at.isoformat() if self.oldest_unacknowledged_at else None,
            },
            "sla": {
                "breaching_within_hour": self.breaching_soon,
                "breaching_within_hour_by_team": [{"team": name, "count": n} for name, n in self.breaching_soon_by_team],
                "breaches_today": self.breaches_today,
            },
            "oldest_waiting": self.oldest_waiting,
            "agent_load": [{"agent": name, "open_tickets": n} for name, n in self.agent_load],
            "health": {**self.health, "dead_letters": self.dead_letters},
        }


def _team_names(ids: Sequence[int | None]) -> dict[int | None, str]:
    names: dict[int | None, str] = dict(Team.objects.filter(pk__in=[i for i in ids if i]).values_list("pk", "name"))
    return {i: names.get(i, "(no team)") if i else "(no team)" for i in ids}


def dashboard(*, now: datetime) -> Dashboard:
    # Open tickets by status and agent from the live counts the worker keeps (a few dozen rows):
    # counting them here would visit every open ticket's row (100 ms at a million on PostgreSQL).
    open_by_status: dict[str, int] = {}
    load: dict[int, int] = {}
    for status, assignee_id, n in OpenTicketCount.objects.filter(tickets__gt=0).values_list("status", "assignee_id", "tickets"):
        open_by_status[status] = open_by_status.get(status, 0) + n
        if assignee_id:
            load[assignee_id] = load.get(assignee_id, 0) + n
    active = Escalation.objects.filter(status__literal_in=ACTIVE_STATUSES)
    by_level = dict(active.values("level").annotate(n=Count("pk")).order_by("level").values_list("level", "n"))
    by_status = dict(active.values("status").annotate(n=Count("pk")).values_list("status", "n"))
    by_team_rows = list(active.values("to_team_id").annotate(n=Count("pk")).values_list("to_team_id", "n"))
    unacknowledged = active.filter(status=EscalationStatus.OPEN)
    soon = Clock.objects.filter(state=ClockState.RUNNING, due_at__gte=now, due_at__lt=now + SOON)
    soon_rows = list(soon.values("ticket__team_id").annotate(n=Count("pk")).values_list("ticket__team_id", "n"))
    midnight = datetime.combine(now.astimezone(report_zone()).date(), time(0), tzinfo=report_zone())
    waiting = (
        Ticket.objects.filter(AWAITING_AGENT_QUERY)
        .order_by("last_customer_message_at")
        .values("pk", "number", "subject", "last_customer_message_at")
        .first()
    )
    load_rows = sorted(load.items())
    users = {u.pk: u.get_full_name() or u.username for u in User.objects.filter(pk__in=[pk for pk, _ in load_rows])}
    teams = _team_names([pk for pk, _ in by_team_rows] + [pk for pk, _ in soon_rows])
    report = health(now=now)
    waiting_since: datetime | None = waiting["last_customer_message_at"] if waiting else None
    return Dashboard(
        at=now,
        open_by_status={status: open_by_status.get(status, 0) for status in OPEN_STATUSES},
        escalations_by_level=by_level,
        escalations_by_status={status: by_status.get(status, 0) for status in ACTIVE_STATUSES},
        escalations_by_team=sorted(((teams[pk], n) for pk, n in by_team_rows), key=lambda row: (-row[1], row[0])),
        breaching_soon_by_team=sorted(((teams[pk], n) for pk, n in soon_rows), key=lambda row: (-row[1], row[0])),
        breaching_soon=sum(n for _, n in soon_rows),
        breaches_today=Clock.objects.filter(breached_at__gte=midnight, breached_at__lte=now).count(),
        unacknowledged=unacknowledged.count(),
        oldest_unacknowledged_at=unacknowledged.order_by("opened_at").values_list("opened_at", flat=True).first(),
        oldest_waiting=None
        if waiting is None or waiting_since is None
        else {
            "ticket": waiting["pk"],
            "number": waiting["number"],
            "subject": waiting["subject"],
            "since": waiting_since.isoformat(),
            "waiting_s": round((now - waiting_since).total_seconds()),
        },
        agent_load=sorted(((users.get(pk, f"#{pk}"), n) for pk, n in load_rows), key=lambda row: (-row[1], row[0])),
        health=report.as_dict(),
        dead_letters=OutboxMessage.objects.filter(state=OutboxState.DEAD).count(),
    )
