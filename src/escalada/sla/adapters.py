"""Rows ↔ core: calendars to `BusinessCalendar`, clock rows to `core.sla.Clock` and back,
tickets to the facts policy conditions read."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import holidays as holiday_sets

from escalada.core.calendar import BusinessCalendar, ContinuousCalendar
from escalada.core.matching import Condition, Operator, PolicyRule, TicketFacts
from escalada.core.sla import Clock as CoreClock
from escalada.core.sla import ClockState as CoreState
from escalada.core.sla import Metric as CoreMetric
from escalada.core.sla import Warning
from escalada.sla.models import Calendar, Clock, Policy, Target
from escalada.tickets.models import Ticket

CONTINUOUS = ContinuousCalendar()
# Country holiday sets are expanded for these years around today: the ten-year horizon of a
# target, plus a little history for clocks that started before New Year.
HOLIDAY_YEARS_BACK = 2
HOLIDAY_YEARS_AHEAD = 11

_cache: dict[tuple[str, str, tuple[str, ...], str, str, int], BusinessCalendar] = {}
_cache_lock = threading.Lock()


def country_holidays(*, country: str, subdivision: str, years: Iterable[int]) -> list[date]:
    """Public holidays of a country (and subdivision) from the `holidays` package."""
    found = holiday_sets.country_holidays(country, subdiv=subdivision or None, years=list(years))
    return sorted(found.keys())


def weekly_pairs(weekly: dict[str, list[list[str]]]) -> dict[str, list[tuple[str, str]]]:
    return {day: [(pair[0], pair[1]) for pair in pairs] for day, pairs in weekly.items()}


def holiday_dates(values: Iterable[str]) -> list[date]:
    return [date.fromisoformat(value) for value in values]


def calendar_build(
    *,
    time_zone: str,
    weekly: dict[str, list[list[str]]],
    holidays: Iterable[str],
    holiday_country: str,
    holiday_subdivision: str,
    this_year: int,
) -> BusinessCalendar:
    """A core calendar from a calendar's fields; raises ValueError with the problem in words."""
    dates = holiday_dates(holidays)
    if holiday_country:
        years = range(this_year - HOLIDAY_YEARS_BACK, this_year + HOLIDAY_YEARS_AHEAD + 1)
        dates += country_holidays(country=holiday_country, subdivision=holiday_subdivision, years=years)
    return BusinessCalendar(timezone=time_zone, weekly=weekly_pairs(weekly), holidays=dates)


def calendar_to_core(calendar: Calendar | None, *, now: datetime) -> BusinessCalendar | ContinuousCalendar:
    """The core calendar of a row (cached per calendar version); calendar time for None."""
    if calendar is None:
        return CONTINUOUS
    # Keyed by content, not by id and version: ids can be reused after a delete (SQLite).
    key = (
        calendar.time_zone,
        json.dumps(calendar.weekly, sort_keys=True),
        tuple(calendar.holidays),
        calendar.holiday_country,
        calendar.holiday_subdivision,
        now.year,
    )
    cached = _cache.get(key)
    if cached is not None:
        return cached
    built = calendar_build(
        time_zone=calendar.time_zone,
        weekly=calendar.weekly,
        holidays=calendar.holidays,
        holiday_country=calendar.holiday_country,
        holiday_subdivision=calendar.holiday_subdivision,
        this_year=now.year,
    )
    with _cache_lock:
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = built
    return built


def warning_of(target: Target) -> Warning | None:
    if target.warn_percent is not None:
        return Warning(percent=target.warn_percent)
    if target.warn_minutes_before is not None:
        return Warning(lead=timedelta(minutes=target.warn_minutes_before))
    return None


def target_duration(target: Target) -> timedelta:
    return timedelta(minutes=target.minutes)


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


CORE_FIELDS = (
    "metric",
    "cycle",
    "state",
    "target_us",
    "warn_after_us",
    "consumed_us",
    "started_at",
    "running_since",
    "due_at",
    "warn_at",
    "warned_at",
    "paused_at",
    "breached_at",
    "fulfilled_at",
)


def clock_from_values(values: Mapping[str, Any]) -> CoreClock:
    """A core clock from a clock row's column values (a row's ``__dict__`` or ``.values()``)."""
    warn_after = values["warn_after_us"]
    return CoreClock(
        metric=CoreMetric(values["metric"]),
        target=timedelta(microseconds=values["target_us"]),
        warn_after=timedelta(microseconds=warn_after) if warn_after is not None else None,
        started_at=values["started_at"],
        state=CoreState(values["state"]),
        consumed=timedelta(microseconds=values["consumed_us"]),
        running_since=values["running_since"],
        due_at=values["due_at"],
        warn_at=values["warn_at"],
        warned_at=values["warned_at"],
        paused_at=values["paused_at"],
        breached_at=values["breached_at"],
        fulfilled_at=values["fulfilled_at"],
        cycle=values["cycle"],
    )


def clock_to_core(row: Clock) -> CoreClock:
    return clock_from_values(row.__dict__)


def next_fire_at(clock: CoreClock) -> datetime | None:
    """The timer's next instant for a clock: the earlier of its warning and due instants."""
    instants = [t for t in (clock.warn_at, clock.due_at) if t is not None]
    return min(instants) if clock.state == CoreState.RUNNING and instants else None


CLOCK_FIELDS = [
    "state",
    "target_us",
    "warn_after_us",
    "consumed_us",
    "started_at",
    "running_since",
    "due_at",
    "warn_at",
    "next_fire_at",
    "warned_at",
    "paused_at",
    "breached_at",
    "fulfilled_at",
    "fence",
]


def clock_copy(row: Clock, clock: CoreClock) -> None:
    """Write a core clock's state onto its row, with the next timer instant and a new fence."""
    row.state = clock.state.value
    row.target_us = _us(clock.target)
    row.warn_after_us = _us(clock.warn_after) if clock.warn_after is not None else None
    row.consumed_us = _us(clock.consumed)
    row.started_at = clock.started_at
    row.running_since = clock.running_since
    row.due_at = clock.due_at
    row.warn_at = clock.warn_at
    row.next_fire_at = next_fire_at(clock)
    row.warned_at = clock.warned_at
    row.paused_at = clock.paused_at
    row.breached_at = clock.breached_at
    row.fulfilled_at = clock.fulfilled_at
    row.fence = (row.fence or 0) + 1


def ticket_facts(ticket: Ticket) -> TicketFacts:
    organization = ticket.organization
    return TicketFacts(
        priority=ticket.priority,
        severity=ticket.severity,
        channel=ticket.channel,
        category=ticket.category.slug if ticket.category else None,
        organization_id=ticket.organization_id,
        organization_tier=organization.tier if organization else None,
        is_vip=ticket.requester.is_vip,
        tags=frozenset(ticket.tags.values_list("name", flat=True)),
        team_id=ticket.team_id,
    )


def conditions_of(raw: list[dict[str, object]]) -> tuple[Condition, ...]:
    return tuple(Condition(field=str(c["field"]), operator=Operator(str(c["operator"])), value=c["value"]) for c in raw)


def policy_rule(policy: Policy) -> PolicyRule:
    return PolicyRule(policy_id=policy.pk, name=policy.name, rank=policy.rank, conditions=conditions_of(policy.conditions))
