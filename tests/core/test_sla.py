"""SLA clocks as a state machine over a business calendar, without Django."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalada.core.calendar import BusinessCalendar, ContinuousCalendar
from escalada.core.sla import (
    Clock,
    ClockState,
    Metric,
    Warning,
    clock_breach,
    clock_fulfill,
    clock_pause,
    clock_reopen,
    clock_resume,
    clock_retarget,
    clock_start,
    clock_warn,
)

BERLIN = ZoneInfo("Europe/Berlin")
CAL = BusinessCalendar(
    timezone="Europe/Berlin", weekly={day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}
)
HOURS_8 = timedelta(hours=8)


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)  # November 2026: the 23rd is a Monday


def start(now: datetime, target: timedelta = HOURS_8, warning: Warning | None = None) -> Clock:
    return clock_start(metric=Metric.RESOLUTION, target=target, warning=warning, calendar=CAL, now=now)


def test_a_started_clock_is_due_after_its_business_target() -> None:
    clock = start(berlin(23, 13), warning=Warning(percent=75))
    assert (clock.state, clock.consumed, clock.running_since) == (ClockState.RUNNING, timedelta(0), berlin(23, 13))
    assert clock.due_at == berlin(24, 13)  # 4 h on Monday, 4 h on Tuesday
    assert clock.warn_at == berlin(24, 11)  # 6 h used
    assert clock.remaining(CAL, berlin(23, 17)) == timedelta(hours=4)


def test_pause_over_a_weekend_and_resume_where_it_stopped() -> None:
    clock = start(berlin(27, 15))  # Friday 15:00
    paused = clock_pause(clock, calendar=CAL, now=berlin(27, 16))  # waiting on the customer
    assert (paused.state, paused.consumed, paused.due_at, paused.paused_at) == (
        ClockState.PAUSED,
        timedelta(hours=1),
        None,
        berlin(27, 16),
    )
    assert paused.remaining(CAL, berlin(30, 12)) == timedelta(hours=7)  # nothing counts while paused
    resumed = clock_resume(paused, calendar=CAL, now=berlin(30, 10))  # Monday 10:00
    # 7 h left from Monday 10:00 run out at 17:00, a closing: due at Tuesday's opening.
    assert (resumed.state, resumed.due_at, resumed.paused_at) == (
        ClockState.RUNNING,
        datetime(2026, 12, 1, 9, tzinfo=BERLIN),
        None,
    )
    assert clock_resume(resumed, calendar=CAL, now=berlin(30, 11)) == resumed  # only a paused clock resumes
    assert clock_pause(paused, calendar=CAL, now=berlin(30, 11)) == paused  # pausing twice changes nothing


def test_fulfilled_in_time_and_fulfilled_late() -> None:
    clock = start(berlin(23, 9), target=timedelta(hours=1))
    in_time = clock_fulfill(clock, calendar=CAL, now=berlin(23, 9, 40))
    assert (in_time.state, in_time.fulfilled_at, in_time.consumed, in_time.breached_at) == (
        ClockState.FULFILLED,
        berlin(23, 9, 40),
        timedelta(minutes=40),
        None,
    )
    breached = clock_breach(clock, now=berlin(23, 10, 5))
    assert breached is not None
    assert (breached.state, breached.breached_at, breached.due_at) == (ClockState.BREACHED, berlin(23, 10), None)
    late = clock_fulfill(breached, calendar=CAL, now=berlin(23, 11))
    assert (late.state, late.breached_at, late.consumed) == (ClockState.FULFILLED, berlin(23, 10), timedelta(hours=2))
    assert clock_fulfill(late, calendar=CAL, now=berlin(24, 9)) == late


def test_the_timer_decides_nothing_before_the_instant() -> None:
    clock = start(berlin(23, 9), warning=Warning(lead=timedelta(hours=2)))
    assert clock.warn_at == berlin(23, 15)
    assert clock_warn(clock, now=berlin(23, 14, 59)) is None
    warned = clock_warn(
        clock,
        now=berlin(
            23,
            15,
            0,
        ),
    )
    assert warned is not None
    assert (warned.warned_at, warned.warn_at, warned.state) == (berlin(23, 15), None, ClockState.RUNNING)
    assert clock_warn(warned, now=berlin(23, 16)) is None  # warns once
    assert clock_breach(warned, now=berlin(23, 16, 59)) is None
    assert clock_breach(clock_pause(warned, calendar=CAL, now=berlin(23, 16)), now=berlin(24, 9)) is None


def test_a_warning_is_not_repeated_after_a_pause() -> None:
    clock = clock_warn(start(berlin(23, 9), warning=Warning(percent=50)), now=berlin(23, 13))
    assert clock is not None
    resumed = clock_resume(clock_pause(clock, calendar=CAL, now=berlin(23, 14)), calendar=CAL, now=berlin(23, 15))
    assert (resumed.warn_at, resumed.warned_at, resumed.due_at) == (None, berlin(23, 13), berlin(24, 10))


def test_a_breached_clock_stays_breached_through_a_pause() -> None:
    breached = clock_breach(start(berlin(23, 9), target=timedelta(hours=1)), now=berlin(23, 10))
    assert breached is not None
    paused = clock_pause(breached, calendar=CAL, now=berlin(23, 12))
    assert (paused.state, paused.consumed, paused.breached_at) == (ClockState.PAUSED, timedelta(hours=3), berlin(23, 10))
    resumed = clock_resume(paused, calendar=CAL, now=berlin(23, 14))
    assert (resumed.state, resumed.due_at, resumed.breached_at) == (ClockState.BREACHED, None, berlin(23, 10))
    assert resumed.remaining(CAL, berlin(23, 15)) == timedelta(hours=-3)


def test_retarget_moves_the_due_instant_from_the_original_start() -> None:
    clock = start(berlin(23, 9), target=timedelta(hours=8))
    urgent = clock_retarget(clock, target=timedelta(hours=2), warning=None, calendar=CAL, now=berlin(23, 10))
    assert (urgent.state, urgent.due_at, urgent.target) == (ClockState.RUNNING, berlin(23, 11), timedelta(hours=2))
    too_late = clock_retarget(clock, target=timedelta(hours=1), warning=None, calendar=CAL, now=berlin(23, 12))
    assert (too_late.state, too_late.breached_at, too_late.due_at) == (ClockState.BREACHED, berlin(23, 10), None)
    relaxed = clock_retarget(too_late, target=timedelta(hours=16), warning=Warning(percent=50), calendar=CAL, now=berlin(23, 12))
    assert (relaxed.state, relaxed.breached_at, relaxed.due_at, relaxed.warn_at) == (
        ClockState.RUNNING,
        None,
        berlin(25, 9),  # 16 h from Monday 09:00 run out at Tuesday's closing: due Wednesday 09:00
        berlin(24, 9),  # 8 h used at Monday's closing: the warning falls at the next opening
    )
    fulfilled = clock_fulfill(clock, calendar=CAL, now=berlin(23, 10))
    assert clock_retarget(fulfilled, target=timedelta(hours=1), warning=None, calendar=CAL, now=berlin(23, 12)) == fulfilled


def test_retarget_while_paused() -> None:
    paused = clock_pause(start(berlin(23, 9)), calendar=CAL, now=berlin(23, 12))
    shorter = clock_retarget(paused, target=timedelta(hours=2), warning=None, calendar=CAL, now=berlin(23, 13))
    assert (shorter.state, shorter.breached_at, shorter.due_at) == (ClockState.PAUSED, berlin(23, 12), None)
    assert clock_resume(shorter, calendar=CAL, now=berlin(23, 14)).state == ClockState.BREACHED
    longer = clock_retarget(paused, target=timedelta(hours=4), warning=None, calendar=CAL, now=berlin(23, 13))
    assert clock_resume(longer, calendar=CAL, now=berlin(23, 14)).due_at == berlin(23, 15)


def test_bad_warnings_and_targets() -> None:
    with pytest.raises(ValueError, match="either a percent"):
        Warning()
    with pytest.raises(ValueError, match="between 1 and 99"):
        Warning(percent=100)
    with pytest.raises(ValueError, match="must be positive"):
        Warning(lead=timedelta(0))
    with pytest.raises(ValueError, match="cannot be negative"):
        start(berlin(23, 9), target=timedelta(minutes=-1))
    assert Warning(lead=timedelta(hours=9)).consumed_at_warning(HOURS_8) is None


moments = st.integers(0, 14 * 24 * 60).map(lambda m: berlin(23, 0) + timedelta(minutes=m))


@settings(max_examples=200, deadline=None)
@given(st.lists(moments, min_size=1, max_size=8), st.integers(1, 40 * 60))
def test_used_time_is_the_business_time_of_the_running_stretches(times: list[datetime], target_minutes: int) -> None:
    times = sorted(times)
    clock = start(times[0], target=timedelta(minutes=target_minutes))
    running_since: datetime | None = times[0]
    used = timedelta(0)
    for index, moment in enumerate(times[1:]):
        if index % 2 == 0:
            clock = clock_pause(clock, calendar=CAL, now=moment)
            assert running_since is not None
            used += CAL.elapsed(running_since, moment)
            running_since = None
        else:
            clock = clock_resume(clock, calendar=CAL, now=moment)
            running_since = moment
        assert clock.consumed == used
    end = times[-1] + timedelta(days=3)
    expected = used + (CAL.elapsed(running_since, end) if running_since else timedelta(0))
    assert clock.used(CAL, end) == expected
    if clock.state == ClockState.RUNNING:
        assert clock.due_at is not None
        assert clock.used(CAL, clock.due_at) == clock.target  # the target runs out exactly at the due instant


def test_reopen_counts_again_with_the_time_already_used() -> None:
    clock = start(berlin(23, 9))
    solved = clock_fulfill(clock, calendar=CAL, now=berlin(23, 15))  # 6 h used
    reopened = clock_reopen(solved, calendar=CAL, now=berlin(26, 16))  # Thursday 16:00: 2 h left
    assert (reopened.state, reopened.consumed, reopened.fulfilled_at) == (ClockState.RUNNING, timedelta(hours=6), None)
    assert reopened.due_at == berlin(27, 10)  # 1 h on Thursday, 1 h on Friday
    assert clock_reopen(reopened, calendar=CAL, now=berlin(26, 17)) == reopened  # only a fulfilled clock reopens


def test_reopen_of_a_late_clock_stays_breached() -> None:
    clock = start(berlin(23, 9), target=timedelta(hours=1))
    late = clock_fulfill(clock_breach(clock, now=berlin(23, 10)) or clock, calendar=CAL, now=berlin(23, 11))
    reopened = clock_reopen(late, calendar=CAL, now=berlin(24, 9))
    assert (reopened.state, reopened.breached_at, reopened.due_at) == (ClockState.BREACHED, berlin(23, 10), None)


def test_calendar_minutes_count_every_second() -> None:
    wall = ContinuousCalendar()
    clock = clock_start(metric=Metric.FIRST_RESPONSE, target=timedelta(hours=1), warning=None, calendar=wall, now=berlin(28, 23))
    assert clock.due_at == berlin(29, 0)  # a Saturday midnight counts like any other hour
    assert wall.elapsed(berlin(29, 0), berlin(28, 23)) == timedelta(0)
    assert (wall.is_open(berlin(29, 3)), wall.next_open(berlin(29, 3))) == (True, berlin(29, 3))
    with pytest.raises(ValueError, match="naive"):
        wall.add(datetime(2026, 11, 23), timedelta(0))  # noqa: DTZ001
    with pytest.raises(ValueError, match="negative"):
        wall.add(berlin(23, 9), timedelta(seconds=-1))


def test_a_warning_point_already_passed_is_due_at_once_after_a_retarget() -> None:
    clock = start(berlin(23, 9), target=timedelta(hours=8), warning=Warning(percent=75))
    stricter = clock_retarget(clock, target=timedelta(hours=4), warning=Warning(percent=50), calendar=CAL, now=berlin(23, 12))
    # 3 h used; the new warning point (2 h) was passed at 11:00: that is its instant, already
    # behind `now`, so the timer fires it on its next turn.
    assert (stricter.state, stricter.due_at, stricter.warn_at) == (ClockState.RUNNING, berlin(23, 13), berlin(23, 11))


def test_a_retarget_gives_the_new_target_its_own_warning() -> None:
    clock = start(berlin(23, 9), target=timedelta(hours=2), warning=Warning(percent=50))
    warned = clock_warn(clock, now=berlin(23, 10))
    assert warned is not None
    longer = clock_retarget(warned, target=timedelta(hours=8), warning=Warning(percent=50), calendar=CAL, now=berlin(23, 10))
    assert (longer.warned_at, longer.warn_at, longer.due_at) == (None, berlin(23, 13), berlin(24, 9))
    shorter = clock_retarget(
        warned, target=timedelta(hours=1, minutes=30), warning=Warning(percent=50), calendar=CAL, now=berlin(23, 10)
    )
    assert (shorter.warned_at, shorter.warn_at) == (berlin(23, 10), None)  # its warning point (45 min) was passed too
