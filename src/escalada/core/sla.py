"""SLA clocks: one per ticket and metric, as a small state machine over a business calendar.

A clock runs from its start, consumes business time while running, pauses (pending, on hold)
and resumes where it stopped, is fulfilled (a public agent reply, the ticket solved) or breached
(its due instant passed while running). Every function takes ``now`` and returns a new clock;
nothing here reads the clock or stores anything. The due and warning instants are what the
timer worker waits for; they are set only while the clock runs.

States:

- ``running``: counting; ``due_at`` is the breach instant, ``warn_at`` the warning instant.
- ``breached``: counting past its target; ``breached_at`` is the due instant that passed.
- ``paused``: not counting; no due instant. A breached clock that pauses keeps ``breached_at``.
- ``fulfilled``: done; ``fulfilled_at`` says when, ``breached_at`` whether it was late.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol


class Metric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class ClockState(StrEnum):
    RUNNING = "running"
    BREACHED = "breached"
    PAUSED = "paused"
    FULFILLED = "fulfilled"


class Calendar(Protocol):
    """What a clock needs of a calendar (escalada.core.calendar.BusinessCalendar has it)."""

    def add(self, start: datetime, duration: timedelta) -> datetime: ...

    def elapsed(self, start: datetime, end: datetime) -> timedelta: ...


@dataclass(frozen=True)
class Warning:
    """When to warn: after a share of the target is used, or a lead before it runs out."""

    percent: int | None = None
    lead: timedelta | None = None

    def __post_init__(self) -> None:
        if (self.percent is None) == (self.lead is None):
            raise ValueError("A warning is either a percent of the target or a lead before the due time.")
        if self.percent is not None and not 1 <= self.percent <= 99:
            raise ValueError(f"A warning percent lies between 1 and 99, not {self.percent}.")
        if self.lead is not None and self.lead <= timedelta(0):
            raise ValueError("A warning lead must be positive.")

    def consumed_at_warning(self, target: timedelta) -> timedelta | None:
        """Business time used when the warning is due; None when it would come before the start."""
        if self.percent is not None:
            return target * self.percent / 100
        assert self.lead is not None
        return target - self.lead if self.lead < target else None


@dataclass(frozen=True)
class Clock:
    metric: Metric
    target: timedelta
    warn_after: timedelta | None  # business time used when the warning is due
    started_at: datetime
    state: ClockState
    consumed: timedelta  # business time used before `running_since`
    running_since: datetime | None  # start of the current counting stretch
    due_at: datetime | None = None
    warn_at: datetime | None = None
    warned_at: datetime | None = None
    paused_at: datetime | None = None
    breached_at: datetime | None = None
    fulfilled_at: datetime | None = None
    cycle: int = 1

    @property
    def is_counting(self) -> bool:
        return self.state in (ClockState.RUNNING, ClockState.BREACHED)

    def used(self, calendar: Calendar, now: datetime) -> timedelta:
        """Business time used up to ``now``."""
        if self.is_counting and self.running_since is not None:
            return self.consumed + calendar.elapsed(self.running_since, now)
        return self.consumed

    def remaining(self, calendar: Calendar, now: datetime) -> timedelta:
        """Business time left before the target (negative once breached)."""
        return self.target - self.used(calendar, now)


def _schedule(clock: Clock, calendar: Calendar, since: datetime) -> Clock:
    """Set due and warning instants for a clock counting from ``since`` with ``consumed`` used."""
    if clock.breached_at is not None or clock.consumed > clock.target:
        return replace(clock, state=ClockState.BREACHED, due_at=None, warn_at=None, running_since=since)
    due = calendar.add(since, clock.target - clock.consumed)
    warn_at = None
    if clock.warned_at is None and clock.warn_after is not None:
        # A warning point already behind the used time (a stricter target applied later, hours
        # changed under a clock whose warning had not fired yet) is due at once, not never.
        overdue = clock.warn_after < clock.consumed
        warn_at = since if overdue else calendar.add(since, clock.warn_after - clock.consumed)
    return replace(clock, state=ClockState.RUNNING, running_since=since, due_at=due, warn_at=warn_at)


def clock_start(
    *, metric: Metric, target: timedelta, warning: Warning | None, calendar: Calendar, now: datetime, cycle: int = 1
) -> Clock:
    if target < timedelta(0):
        raise ValueError(f"An SLA target cannot be negative ({target}).")
    warn_after = warning.consumed_at_warning(target) if warning is not None else None
    clock = Clock(
        metric=metric,
        target=target,
        warn_after=warn_after,
        started_at=now,
        state=ClockState.RUNNING,
        consumed=timedelta(0),
        running_since=now,
        cycle=cycle,
    )
    return _schedule(clock, calendar, now)


def clock_pause(clock: Clock, *, calendar: Calendar, now: datetime) -> Clock:
    """Stop counting (pending, on hold). A clock that is not counting is returned unchanged."""
    if not clock.is_counting:
        return clock
    return replace(
        clock,
        state=ClockState.PAUSED,
        consumed=clock.used(calendar, now),
        running_since=None,
        due_at=None,
        warn_at=None,
        paused_at=now,
    )


def clock_resume(clock: Clock, *, calendar: Calendar, now: datetime) -> Clock:
    """Count again from where it stopped. Only a paused clock resumes; others come back unchanged."""
    if clock.state != ClockState.PAUSED:
        return clock
    return _schedule(replace(clock, paused_at=None), calendar, now)


def clock_fulfill(clock: Clock, *, calendar: Calendar, now: datetime) -> Clock:
    """The metric is met (a public agent reply, the ticket solved). A fulfilled clock stays as it was."""
    if clock.state == ClockState.FULFILLED:
        return clock
    return replace(
        clock,
        state=ClockState.FULFILLED,
        consumed=clock.used(calendar, now),
        running_since=None,
        due_at=None,
        warn_at=None,
        paused_at=None,
        fulfilled_at=now,
    )


def clock_reopen(clock: Clock, *, calendar: Calendar, now: datetime) -> Clock:
    """A solved ticket came back: a fulfilled clock counts again from ``now`` with the business
    time it had already used (a late clock stays breached). Other clocks come back unchanged."""
    if clock.state != ClockState.FULFILLED:
        return clock
    return _schedule(replace(clock, fulfilled_at=None), calendar, now)


def clock_breach(clock: Clock, *, now: datetime) -> Clock | None:
    """The timer's decision at ``now``: the breached clock, or None when nothing is due (a stale
    or early wake-up changes nothing). The breach is dated at the due instant, not the wake-up."""
    if clock.state != ClockState.RUNNING or clock.due_at is None or now < clock.due_at:
        return None
    return replace(clock, state=ClockState.BREACHED, breached_at=clock.due_at, due_at=None, warn_at=None)


def clock_warn(clock: Clock, *, now: datetime) -> Clock | None:
    """The timer's decision at ``now`` about the warning: the warned clock, or None."""
    if clock.state != ClockState.RUNNING or clock.warn_at is None or now < clock.warn_at:
        return None
    return replace(clock, warned_at=clock.warn_at, warn_at=None)


def clock_retarget(clock: Clock, *, target: timedelta, warning: Warning | None, calendar: Calendar, now: datetime) -> Clock:
    """Apply a new target from the clock's original start (the policy or priority changed).

    The business time already used stays; the due instant moves. A clock whose new target was
    already used up is breached — at the instant the new target ran out when that lies in the
    current counting stretch, else at the start of that stretch (earlier stretches keep no
    timeline). Fulfilled clocks keep their history.
    """
    if clock.state == ClockState.FULFILLED:
        return clock
    warn_after = warning.consumed_at_warning(target) if warning is not None else None
    # A warning given for the old target does not stand for the new one unless the new warning
    # point was passed too: otherwise the new target's warning could never fire.
    used = clock.used(calendar, now)
    warned_at = clock.warned_at if warn_after is not None and clock.warned_at is not None and warn_after <= used else None
    retargeted = replace(
        clock, target=target, warn_after=warn_after, breached_at=None, due_at=None, warn_at=None, warned_at=warned_at
    )
    if not clock.is_counting:
        late = clock.consumed > target
        return replace(retargeted, breached_at=(clock.breached_at or clock.paused_at) if late else None)
    assert clock.running_since is not None
    due = calendar.add(clock.running_since, target - clock.consumed) if clock.consumed <= target else None
    if due is not None and due > now:
        return _schedule(retargeted, calendar, clock.running_since)
    return replace(retargeted, state=ClockState.BREACHED, breached_at=due or clock.running_since)
