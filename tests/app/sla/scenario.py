"""The Berlin support desk of DESIGN.md: Mon–Fri 09:00–17:00, and policies on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from escalada.desk import verbs
from escalada.sla import services
from escalada.sla.models import Calendar, Clock, Policy
from escalada.tickets.models import Ticket
from tests.app.conftest import World

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def berlin(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A Berlin wall time in late 2026 (November 23rd is a Monday)."""
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def berlin_calendar(**extra: Any) -> Calendar:
    data: services.CalendarData = {"name": "Berlin office", "time_zone": "Europe/Berlin", "weekly": WEEKDAYS_9_TO_5}
    data.update(extra)  # type: ignore[typeddict-item]
    return services.calendar_create(data=data, actor=None, now=berlin(1, 8))


def targets(
    priority: str, first: int | None, resolution: int | None, next_: int | None = None, warn: int | None = 75
) -> list[Any]:
    rows: list[Any] = []
    for metric, minutes in (("first_response", first), ("next_response", next_), ("resolution", resolution)):
        if minutes is not None:
            rows.append({"priority": priority, "metric": metric, "minutes": minutes, "warn_percent": warn})
    return rows


def standard_policy(calendar: Calendar, **extra: Any) -> Policy:
    """Rank 100, no conditions: every ticket. high: 60 min first response, 30 next, 8 h resolution."""
    data: services.PolicyData = {
        "name": "Standard",
        "rank": 100,
        "calendar": calendar,
        "targets": [
            *targets("high", 60, 480, 30),
            *targets("normal", 240, 960, 120),
            *targets("urgent", 30, 240, 15),
        ],
    }
    data.update(extra)  # type: ignore[typeddict-item]
    return services.policy_create(data=data, actor=None, now=berlin(1, 8))


def open_ticket(world: World, at: datetime, *, priority: str = "high", **extra: Any) -> Ticket:
    return verbs.ticket_open(
        subject="Balance wrong",
        description="My account balance is wrong since the last invoice.",
        requester=world.ana,
        channel="email",
        actor=None,
        priority=priority,
        team=world.support,
        now=at,
        **extra,
    )


def clock(ticket: Ticket, metric: str, cycle: int = 1) -> Clock:
    return Clock.objects.get(ticket=ticket, metric=metric, cycle=cycle)


def minutes(value: int) -> int:
    """Microseconds in `value` minutes (how clocks store durations)."""
    return int(timedelta(minutes=value) / timedelta(microseconds=1))
