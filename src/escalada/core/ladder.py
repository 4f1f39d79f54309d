"""Escalation ladders: when each level of a frozen ladder is due for a ticket, as pure arithmetic.

A level's trigger is one of:

- ``metric_warning`` / ``metric_breach``: the SLA metric's warning or breach instant, plus an
  offset (business or calendar time). A fulfilled metric cancels it; a paused clock has no instant
  (the level waits and is rescheduled when the clock resumes).
- ``unresolved_for``: the ticket's creation plus the offset; solving cancels it.
- ``no_agent_reply_for``: the customer's last message plus the offset, while no public agent reply
  came after it.

A level fires once per occurrence of its trigger (`level_occurrence`): each cycle of the metric's
clock (next_response has one per message the customer waits on), each unanswered customer
message, and once per ticket for ``unresolved_for``.

Functions take times and calendars and return instants; nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol


class Trigger(StrEnum):
    METRIC_WARNING = "metric_warning"
    METRIC_BREACH = "metric_breach"
    UNRESOLVED_FOR = "unresolved_for"
    NO_AGENT_REPLY_FOR = "no_agent_reply_for"


METRIC_TRIGGERS = (Trigger.METRIC_WARNING, Trigger.METRIC_BREACH)


class Calendar(Protocol):
    def add(self, start: datetime, duration: timedelta) -> datetime: ...


@dataclass(frozen=True)
class Level:
    index: int  # 0-based position in the ladder
    trigger: Trigger
    offset: timedelta
    is_business_time: bool = True
    metric: str | None = None  # for metric triggers
    repeat_every: timedelta | None = None  # repeat the notification until acknowledged
    actions: tuple[Mapping[str, Any], ...] = field(default=())


@dataclass(frozen=True)
class ClockTimes:
    """What a level needs of one SLA metric's current clock."""

    warn_instant: datetime | None  # warned_at once fired, else warn_at; None without a warning
    due_instant: datetime | None  # breached_at once breached, else due_at
    is_paused: bool
    is_fulfilled: bool
    cycle: int = 1  # next_response starts a new cycle for every message the customer waits on


@dataclass(frozen=True)
class TicketTimes:
    created_at: datetime
    is_solved: bool
    last_customer_message_at: datetime | None
    last_agent_reply_at: datetime | None
    clocks: Mapping[str, ClockTimes] = field(default_factory=dict)


def level_due(level: Level, times: TicketTimes, *, business: Calendar, wall: Calendar) -> datetime | None:
    """When `level` fires for this ticket, or None when it does not (now): cancelled or waiting."""
    if times.is_solved:
        return None
    calendar = business if level.is_business_time else wall
    if level.trigger in METRIC_TRIGGERS:
        clock = times.clocks.get(level.metric or "")
        if clock is None or clock.is_fulfilled or clock.is_paused:
            return None
        anchor = clock.warn_instant if level.trigger == Trigger.METRIC_WARNING else clock.due_instant
    elif level.trigger == Trigger.UNRESOLVED_FOR:
        anchor = times.created_at
    else:  # NO_AGENT_REPLY_FOR
        waiting = times.last_customer_message_at
        answered = times.last_agent_reply_at
        anchor = waiting if waiting is not None and (answered is None or answered < waiting) else None
    if anchor is None:
        return None
    return calendar.add(anchor, level.offset) if level.offset else anchor


def level_occurrence(level: Level, times: TicketTimes) -> int | None:
    """Which occurrence of its trigger `level` is on for this ticket: a level fires once per
    occurrence (and repeats within it). None when no occurrence is under way: the steps there
    stay as they are, held.

    - metric triggers: the metric's clock cycle, so a next_response level fires again for each
      message the customer waits on;
    - ``no_agent_reply_for``: the customer's unanswered message (its instant, in whole seconds);
    - ``unresolved_for``: one occurrence per ticket.
    """
    if level.trigger in METRIC_TRIGGERS:
        clock = times.clocks.get(level.metric or "")
        return None if clock is None else clock.cycle
    if level.trigger == Trigger.NO_AGENT_REPLY_FOR:
        waiting, answered = times.last_customer_message_at, times.last_agent_reply_at
        if waiting is None or (answered is not None and answered >= waiting):
            return None
        return int(waiting.timestamp())
    return 1


def ladder_problems(levels: Sequence[Level]) -> dict[int, str]:
    """What is wrong with a ladder, by level index: offsets that go backwards for the same trigger
    (and metric), negative offsets, metric triggers without a metric, repeats under a minute."""
    problems: dict[int, str] = {}
    latest: dict[tuple[Trigger, str | None], timedelta] = {}
    for level in levels:
        key = (level.trigger, level.metric)
        if level.offset < timedelta(0):
            problems[level.index] = "An offset cannot be negative."
        elif level.trigger in METRIC_TRIGGERS and not level.metric:
            problems[level.index] = "Say which metric (first_response, next_response or resolution) this level watches."
        elif key in latest and level.offset < latest[key]:
            problems[level.index] = (
                f"Its offset ({level.offset}) is earlier than an earlier level's on the same trigger ({latest[key]}): "
                "levels must not go backwards."
            )
        elif level.repeat_every is not None and level.repeat_every < timedelta(minutes=1):
            problems[level.index] = "Repeat at most once a minute."
        latest[key] = max(level.offset, latest.get(key, level.offset))
    return problems
