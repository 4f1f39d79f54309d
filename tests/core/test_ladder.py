"""Ladder levels' due instants, without Django."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from escalada.core.calendar import BusinessCalendar, ContinuousCalendar
from escalada.core.ladder import ClockTimes, Level, TicketTimes, Trigger, ladder_problems, level_due, level_occurrence

BERLIN = ZoneInfo("Europe/Berlin")
CAL = BusinessCalendar(timezone="Europe/Berlin", weekly={d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")})
WALL = ContinuousCalendar()


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


def times(**clocks: ClockTimes) -> TicketTimes:
    return TicketTimes(
        created_at=berlin(27, 15),
        is_solved=False,
        last_customer_message_at=berlin(27, 15),
        last_agent_reply_at=None,
        clocks=clocks,
    )


RUNNING = ClockTimes(warn_instant=berlin(27, 16), due_instant=berlin(30, 10), is_paused=False, is_fulfilled=False)


def test_metric_triggers_with_business_offsets_cross_the_weekend() -> None:
    breach_plus_30 = Level(index=0, trigger=Trigger.METRIC_BREACH, metric="resolution", offset=timedelta(minutes=30))
    warn_plus_90 = Level(index=1, trigger=Trigger.METRIC_WARNING, metric="resolution", offset=timedelta(minutes=90))
    warn_plus_90_wall = Level(
        index=2, trigger=Trigger.METRIC_WARNING, metric="resolution", offset=timedelta(minutes=90), is_business_time=False
    )
    t = times(resolution=RUNNING)
    assert level_due(breach_plus_30, t, business=CAL, wall=WALL) == berlin(30, 10, 30)
    # Friday 16:00 + 90 business minutes: 60 on Friday, 30 on Monday.
    assert level_due(warn_plus_90, t, business=CAL, wall=WALL) == berlin(30, 9, 30)
    assert level_due(warn_plus_90_wall, t, business=CAL, wall=WALL) == berlin(27, 17, 30)


def test_fulfilled_paused_and_solved_cancel_or_wait() -> None:
    level = Level(index=0, trigger=Trigger.METRIC_BREACH, metric="resolution", offset=timedelta(0))
    fulfilled = ClockTimes(warn_instant=None, due_instant=None, is_paused=False, is_fulfilled=True)
    paused = ClockTimes(warn_instant=None, due_instant=None, is_paused=True, is_fulfilled=False)
    assert level_due(level, times(resolution=fulfilled), business=CAL, wall=WALL) is None
    assert level_due(level, times(resolution=paused), business=CAL, wall=WALL) is None
    assert level_due(level, times(), business=CAL, wall=WALL) is None  # no such clock
    solved = TicketTimes(
        created_at=berlin(27, 15),
        is_solved=True,
        last_customer_message_at=None,
        last_agent_reply_at=None,
        clocks={"resolution": RUNNING},
    )
    assert level_due(level, solved, business=CAL, wall=WALL) is None


def test_unresolved_and_no_agent_reply_triggers() -> None:
    unresolved = Level(index=0, trigger=Trigger.UNRESOLVED_FOR, offset=timedelta(hours=2))
    waiting = Level(index=1, trigger=Trigger.NO_AGENT_REPLY_FOR, offset=timedelta(hours=1), is_business_time=False)
    t = times()
    # Friday 15:00 + 2 business hours run out at Friday's closing: due at Monday's opening, as
    # every business-time instant here (DESIGN.md's breach-instant convention).
    assert level_due(unresolved, t, business=CAL, wall=WALL) == berlin(30, 9)
    assert level_due(waiting, t, business=CAL, wall=WALL) == berlin(27, 16)
    answered = TicketTimes(
        created_at=t.created_at, is_solved=False, last_customer_message_at=berlin(27, 15), last_agent_reply_at=berlin(27, 15, 30)
    )
    assert level_due(waiting, answered, business=CAL, wall=WALL) is None


def test_occurrences_are_the_clock_cycle_the_unanswered_message_or_the_ticket() -> None:
    breach = Level(index=0, trigger=Trigger.METRIC_BREACH, metric="next_response", offset=timedelta(0))
    waiting = Level(index=1, trigger=Trigger.NO_AGENT_REPLY_FOR, offset=timedelta(hours=1))
    unresolved = Level(index=2, trigger=Trigger.UNRESOLVED_FOR, offset=timedelta(hours=2))
    third_wait = ClockTimes(warn_instant=None, due_instant=berlin(27, 16), is_paused=False, is_fulfilled=False, cycle=3)
    t = times(next_response=third_wait)
    assert [level_occurrence(level, t) for level in (breach, waiting, unresolved)] == [3, int(berlin(27, 15).timestamp()), 1]
    answered = TicketTimes(
        created_at=t.created_at, is_solved=False, last_customer_message_at=berlin(27, 15), last_agent_reply_at=berlin(27, 15)
    )
    assert [level_occurrence(level, answered) for level in (breach, waiting, unresolved)] == [None, None, 1]


def test_ladder_problems_name_the_level() -> None:
    levels = [
        Level(index=0, trigger=Trigger.METRIC_BREACH, metric="resolution", offset=timedelta(minutes=60)),
        Level(index=1, trigger=Trigger.METRIC_BREACH, metric="resolution", offset=timedelta(minutes=30)),
        Level(index=2, trigger=Trigger.METRIC_WARNING, offset=timedelta(0)),
        Level(index=3, trigger=Trigger.UNRESOLVED_FOR, offset=timedelta(minutes=-5)),
        Level(index=4, trigger=Trigger.UNRESOLVED_FOR, offset=timedelta(hours=1), repeat_every=timedelta(seconds=10)),
    ]
    assert ladder_problems(levels) == {
        1: "Its offset (0:30:00) is earlier than an earlier level's on the same trigger (1:00:00): levels must not go backwards.",
        2: "Say which metric (first_response, next_response or resolution) this level watches.",
        3: "An offset cannot be negative.",
        4: "Repeat at most once a minute.",
    }
