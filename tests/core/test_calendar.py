"""Business calendars, without Django: hand-written cases and hypothesis properties, with an
independent day-by-day reference implementation to compare against."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from escalada.core.calendar import WEEKDAYS, BusinessCalendar

WORKDAYS = ("mon", "tue", "wed", "thu", "fri")
NINE_TO_FIVE = {day: [("09:00", "17:00")] for day in WORKDAYS}
ALWAYS = {day: [("00:00", "24:00")] for day in WEEKDAYS}
BERLIN = ZoneInfo("Europe/Berlin")


def at(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


def local(cal: BusinessCalendar, instant: datetime) -> datetime:
    return instant.astimezone(cal.zone)


# --- the reference: an obviously-correct day walk -----------------------------------------------


def reference_elapsed(cal: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Sum, date by date, the overlap of [start, end) with each opening interval's instants."""
    if end <= start:
        return timedelta(0)
    stretches: list[tuple[datetime, datetime]] = []
    day = start.astimezone(cal.zone).date() - timedelta(days=1)
    last = end.astimezone(cal.zone).date() + timedelta(days=1)
    while day <= last:
        if day not in cal.holidays:
            for open_text, close_text in _weekly_of(cal)[day.weekday()]:
                opens, closes = _wall(day, open_text, cal.zone), _wall(day, close_text, cal.zone)
                if closes > opens:
                    stretches.append((opens, closes))
        day += timedelta(days=1)
    # Real time counts once: intervals that overlap in real time (a close inside a
    # spring-forward gap reads past the next opening) are one stretch.
    merged: list[tuple[datetime, datetime]] = []
    for opens, closes in sorted(stretches):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    total = timedelta(0)
    for opens, closes in merged:
        lo, hi = max(opens, start), min(closes, end)
        if hi > lo:
            total += hi - lo
    return total


def _wall(day: date, text: str, zone: ZoneInfo) -> datetime:
    """The instant of a wall-clock time on a local date (fold=0; '24:00' is the next midnight)."""
    hours, minutes = (int(part) for part in text.split(":"))
    return (datetime.combine(day, time(0)) + timedelta(hours=hours, minutes=minutes)).replace(tzinfo=zone).astimezone(UTC)


_WEEKLY_SOURCE: dict[int, dict[int, list[tuple[str, str]]]] = {}


def _weekly_of(cal: BusinessCalendar) -> dict[int, list[tuple[str, str]]]:
    return _WEEKLY_SOURCE[id(cal)]


def make(zone: str, weekly: dict[str, list[tuple[str, str]]], holidays: list[date] | None = None) -> BusinessCalendar:
    cal = BusinessCalendar(timezone=zone, weekly=weekly, holidays=holidays or [])
    _WEEKLY_SOURCE[id(cal)] = {index: list(weekly.get(day, [])) for index, day in enumerate(WEEKDAYS)}
    return cal


# --- hand-written cases ----------------------------------------------------------------------------


def test_split_shift_and_due_exactly_at_closing() -> None:
    cal = make("Europe/Berlin", {day: [("09:00", "12:30"), ("13:30", "17:00")] for day in WORKDAYS})
    monday_ten = at("Europe/Berlin", 2026, 11, 23, 10, 0)
    assert local(cal, cal.add(monday_ten, timedelta(hours=1))) == at("Europe/Berlin", 2026, 11, 23, 11, 0)
    # 2 h 30 runs out at 12:30, a closing time: still met until the next opening.
    assert local(cal, cal.add(monday_ten, timedelta(hours=2, minutes=30))) == at("Europe/Berlin", 2026, 11, 23, 13, 30)
    assert local(cal, cal.add(monday_ten, timedelta(hours=6))) == at("Europe/Berlin", 2026, 11, 24, 9, 0)
    assert cal.elapsed(monday_ten, at("Europe/Berlin", 2026, 11, 24, 9, 0)) == timedelta(hours=6)
    assert cal.elapsed(monday_ten, at("Europe/Berlin", 2026, 11, 23, 13, 0)) == timedelta(hours=2, minutes=30)


def test_zero_duration_is_start_inside_hours_and_next_opening_outside() -> None:
    cal = make("Europe/Berlin", NINE_TO_FIVE)
    inside = at("Europe/Berlin", 2026, 11, 23, 9, 0)
    assert cal.add(inside, timedelta(0)) == inside
    saturday = at("Europe/Berlin", 2026, 11, 21, 12, 0)
    assert local(cal, cal.add(saturday, timedelta(0))) == at("Europe/Berlin", 2026, 11, 23, 9, 0)
    assert local(cal, cal.next_open(saturday)) == at("Europe/Berlin", 2026, 11, 23, 9, 0)
    closing = at("Europe/Berlin", 2026, 11, 23, 17, 0)
    assert local(cal, cal.add(closing, timedelta(0))) == at("Europe/Berlin", 2026, 11, 24, 9, 0)
    assert (cal.is_open(inside), cal.is_open(closing), cal.is_open(saturday)) == (True, False, False)


def test_holidays_are_skipped() -> None:
    cal = make("Europe/Berlin", NINE_TO_FIVE, [date(2026, 12, 25), date(2026, 12, 28)])
    thursday = at("Europe/Berlin", 2026, 12, 24, 16, 0)
    # 1 h on Thursday, Friday 25th a holiday, the weekend, Monday 28th a holiday: Tuesday 10:00.
    assert local(cal, cal.add(thursday, timedelta(hours=2))) == at("Europe/Berlin", 2026, 12, 29, 10, 0)
    assert cal.elapsed(thursday, at("Europe/Berlin", 2026, 12, 29, 10, 0)) == timedelta(hours=2)
    assert cal.is_open(at("Europe/Berlin", 2026, 12, 25, 10, 0)) is False


def test_always_open_has_no_gap_at_midnight() -> None:
    cal = make("Europe/Berlin", ALWAYS)
    before_midnight = at("Europe/Berlin", 2026, 11, 23, 23, 59)
    assert local(cal, cal.add(before_midnight, timedelta(minutes=2))) == at("Europe/Berlin", 2026, 11, 24, 0, 1)
    assert cal.is_open(at("Europe/Berlin", 2026, 11, 24, 0, 0)) is True
    assert cal.elapsed(at("Europe/Berlin", 2026, 11, 23, 0, 0), at("Europe/Berlin", 2026, 11, 30, 0, 0)) == timedelta(days=7)
    # A target that ends at midnight is due at midnight: 24:00 and 00:00 are one stretch.
    assert local(cal, cal.add(at("Europe/Berlin", 2026, 11, 23, 12, 0), timedelta(hours=12))) == at(
        "Europe/Berlin", 2026, 11, 24, 0, 0
    )


def test_overnight_shift_is_one_stretch() -> None:
    weekly: dict[str, list[tuple[str, str]]] = {day: [] for day in WEEKDAYS}
    for day in WORKDAYS:  # the night shift starts Monday to Friday at 22:00 and ends at 06:00
        weekly[day].append(("22:00", "24:00"))
    for day in ("tue", "wed", "thu", "fri", "sat"):
        weekly[day].append(("00:00", "06:00"))
    cal = make("America/New_York", weekly)
    monday_2330 = at("America/New_York", 2026, 11, 23, 23, 30)
    assert local(cal, cal.add(monday_2330, timedelta(hours=1))) == at("America/New_York", 2026, 11, 24, 0, 30)
    # 6 h 30 runs out at Tuesday 06:00, a closing: due at Tuesday's 22:00 opening.
    assert local(cal, cal.add(monday_2330, timedelta(hours=6, minutes=30))) == at("America/New_York", 2026, 11, 24, 22, 0)


@pytest.mark.parametrize(
    ("zone", "spring_day", "fall_day"),
    [
        ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
        ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25)),
        ("Australia/Sydney", date(2026, 10, 4), date(2026, 4, 5)),
    ],
)
def test_dst_days_count_real_hours(zone: str, spring_day: date, fall_day: date) -> None:
    always = make(zone, ALWAYS)
    nine_to_five = make(zone, {day: [("09:00", "17:00")] for day in WEEKDAYS})
    for day, hours in ((spring_day, 23), (fall_day, 25)):
        start = datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone))
        assert always.elapsed(start, end) == timedelta(hours=hours)
        assert nine_to_five.elapsed(start, end) == timedelta(hours=8)  # the change happens at night
        assert local(always, always.add(start, timedelta(hours=hours))) == end


def test_sao_paulo_2018_midnight_transitions() -> None:
    # Brazil sprang forward at 00:00 on 2018-11-04 (that midnight did not exist) and fell back at
    # 00:00 on 2019-02-17 (23:00-24:00 of the 16th happened twice).
    cal = make("America/Sao_Paulo", ALWAYS)
    zone = "America/Sao_Paulo"
    assert cal.elapsed(at(zone, 2018, 11, 3, 12, 0), at(zone, 2018, 11, 4, 12, 0)) == timedelta(hours=23)
    assert cal.elapsed(at(zone, 2019, 2, 16, 12, 0), at(zone, 2019, 2, 17, 12, 0)) == timedelta(hours=25)


def test_tehran_2021_midnight_transitions_and_no_dst_since() -> None:
    cal = make("Asia/Tehran", ALWAYS)
    zone = "Asia/Tehran"
    assert cal.elapsed(at(zone, 2021, 3, 21, 12, 0), at(zone, 2021, 3, 22, 12, 0)) == timedelta(hours=23)
    assert cal.elapsed(at(zone, 2021, 9, 21, 12, 0), at(zone, 2021, 9, 22, 12, 0)) == timedelta(hours=25)
    assert cal.elapsed(at(zone, 2026, 3, 21, 0, 0), at(zone, 2026, 3, 23, 0, 0)) == timedelta(hours=48)


def test_opening_inside_a_spring_forward_gap() -> None:
    # Berlin skips 02:00-03:00 on 2026-03-29. Opening hours 02:30-05:00 read 02:30 with the offset
    # before the gap (fold=0), which is 03:30 on the new clock: 1 h 30 of real time that day.
    cal = make("Europe/Berlin", {"sun": [("02:30", "05:00")]})
    day_start = at("Europe/Berlin", 2026, 3, 29, 0, 0)
    assert cal.elapsed(day_start, at("Europe/Berlin", 2026, 3, 30, 0, 0)) == timedelta(hours=1, minutes=30)
    assert local(cal, cal.next_open(day_start)) == at("Europe/Berlin", 2026, 3, 29, 3, 30)
    # 02:30-03:00 lies wholly in the gap: 02:30 reads as 03:30, after 03:00. No open time at all.
    inside_gap = make("Europe/Berlin", {"sun": [("02:30", "03:00")], "mon": [("09:00", "10:00")]})
    assert inside_gap.elapsed(day_start, at("Europe/Berlin", 2026, 3, 30, 0, 0)) == timedelta(0)
    assert local(inside_gap, inside_gap.next_open(day_start)) == at("Europe/Berlin", 2026, 3, 30, 9, 0)


def test_year_end_and_leap_day() -> None:
    cal = make("UTC", NINE_TO_FIVE, [date(2027, 1, 1)])
    thursday = at("UTC", 2026, 12, 31, 16, 0)
    assert cal.add(thursday, timedelta(hours=2)) == at("UTC", 2027, 1, 4, 10, 0)
    leap = make("UTC", ALWAYS)
    assert leap.elapsed(at("UTC", 2028, 2, 28), at("UTC", 2028, 3, 1)) == timedelta(days=2)
    assert leap.add(at("UTC", 2028, 2, 28, 12), timedelta(days=1)) == at("UTC", 2028, 2, 29, 12)


def test_microseconds_are_kept() -> None:
    cal = make("Europe/Berlin", NINE_TO_FIVE)
    start = at("Europe/Berlin", 2026, 11, 23, 9, 0) + timedelta(microseconds=7)
    due = cal.add(start, timedelta(microseconds=999_999))
    assert due - start == timedelta(microseconds=999_999)
    assert cal.elapsed(start, due) == timedelta(microseconds=999_999)


def test_long_horizons_cost_no_more_than_short_ones() -> None:
    # 1,000 business hours of 8 h days = 125 working days, across holidays and two DST changes.
    holidays = [date(2026, 12, 25), date(2027, 1, 1), date(2027, 4, 2), date(2027, 5, 1)]
    cal = make("Europe/Berlin", NINE_TO_FIVE, holidays)
    start = at("Europe/Berlin", 2026, 11, 23, 9, 0)
    due = cal.add(start, timedelta(hours=1000))
    assert cal.elapsed(start, due) == timedelta(hours=1000)
    assert reference_elapsed(cal, start, due) == timedelta(hours=1000)


# --- bad input ------------------------------------------------------------------------------------


def test_bad_calendars_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="'Mars/Olympus' is not an IANA time zone"):
        BusinessCalendar(timezone="Mars/Olympus", weekly=NINE_TO_FIVE)
    with pytest.raises(ValueError, match="Unknown weekday"):
        BusinessCalendar(timezone="UTC", weekly={"monday": [("09:00", "17:00")]})
    with pytest.raises(ValueError, match=r"mon: 09:00-12:00 and 11:00-13:00 overlap\."):
        BusinessCalendar(timezone="UTC", weekly={"mon": [("09:00", "12:00"), ("11:00", "13:00")]})
    with pytest.raises(ValueError, match=r"tue: an interval must close after it opens \(17:00-09:00\)\."):
        BusinessCalendar(timezone="UTC", weekly={"tue": [("17:00", "09:00")]})
    with pytest.raises(ValueError, match="wed: '25:00' is not a time of day"):
        BusinessCalendar(timezone="UTC", weekly={"wed": [("09:00", "25:00")]})
    with pytest.raises(ValueError, match="thu: '9am' is not a time of day"):
        BusinessCalendar(timezone="UTC", weekly={"thu": [("9am", "17:00")]})


def test_bad_arguments_say_what_is_wrong() -> None:
    cal = make("UTC", NINE_TO_FIVE)
    with pytest.raises(ValueError, match="start is a naive datetime"):
        cal.add(datetime(2026, 11, 23, 9), timedelta(hours=1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="end is a naive datetime"):
        cal.elapsed(at("UTC", 2026, 11, 23), datetime(2026, 11, 24))  # noqa: DTZ001
    with pytest.raises(ValueError, match="cannot be negative"):
        cal.add(at("UTC", 2026, 11, 23), timedelta(seconds=-1))
    with pytest.raises(ValueError, match="at most 3653 days"):
        cal.add(at("UTC", 2026, 11, 23), timedelta(days=3654))
    never = make("UTC", {})
    with pytest.raises(ValueError, match="never open"):
        never.add(at("UTC", 2026, 11, 23), timedelta(hours=1))
    assert never.elapsed(at("UTC", 2026, 11, 23), at("UTC", 2027, 11, 23)) == timedelta(0)
    all_holidays = make("UTC", {"mon": [("09:00", "10:00")]}, [date(2026, 11, 23) + timedelta(weeks=w) for w in range(600)])
    with pytest.raises(ValueError, match="no open time within ten years"):
        all_holidays.add(at("UTC", 2026, 11, 23), timedelta(hours=1))


# --- properties -----------------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Sao_Paulo", "Asia/Tehran", "Asia/Kolkata"]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone = draw(st.sampled_from(ZONES))
    weekly: dict[str, list[tuple[str, str]]] = {}
    for day in WEEKDAYS:
        cuts = sorted(draw(st.sets(st.integers(0, 48), max_size=6)))  # half-hour grid, 48 = 24:00
        pairs = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
        if pairs:
            weekly[day] = [(_half_hours(o), _half_hours(c)) for o, c in pairs]
    assume(weekly)
    start = date(2018, 1, 1)
    holidays = draw(st.lists(st.integers(0, 3000).map(lambda n: start + timedelta(days=n)), max_size=40))
    return make(zone, weekly, holidays)


def _half_hours(n: int) -> str:
    return f"{n // 2:02d}:{30 * (n % 2):02d}"


instants = st.integers(0, 8 * 365 * 86_400).map(
    lambda s: datetime(2018, 1, 1, tzinfo=UTC) + timedelta(seconds=s, microseconds=s % 7)
)
durations = st.integers(0, 400 * 3600).map(lambda s: timedelta(seconds=s))


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, durations)
def test_elapsed_of_add_is_the_duration(cal: BusinessCalendar, start: datetime, duration: timedelta) -> None:
    due = cal.add(start, duration)
    assert due >= start
    assert cal.elapsed(start, due) == duration
    assert cal.is_open(due)


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, durations, durations)
def test_add_is_monotone_and_composes(cal: BusinessCalendar, start: datetime, d1: timedelta, d2: timedelta) -> None:
    first = cal.add(start, d1)
    assert cal.add(start, min(d1, d2)) <= cal.add(start, max(d1, d2))
    assert cal.add(first, d2) == cal.add(start, d1 + d2)


@settings(max_examples=100, deadline=None)
@given(calendars(), instants, st.integers(0, 20 * 86_400), st.integers(0, 20 * 86_400))
def test_elapsed_matches_a_day_by_day_reference_and_adds_up(cal: BusinessCalendar, a: datetime, gap1: int, gap2: int) -> None:
    b = a + timedelta(seconds=gap1)
    c = b + timedelta(seconds=gap2)
    assert cal.elapsed(a, c) == reference_elapsed(cal, a, c)
    assert cal.elapsed(a, c) == cal.elapsed(a, b) + cal.elapsed(b, c)
    assert cal.elapsed(c, a) == timedelta(0)


@settings(max_examples=100, deadline=None)
@given(calendars(), instants)
def test_next_open_is_open_and_nothing_is_open_before_it(cal: BusinessCalendar, moment: datetime) -> None:
    opens = cal.next_open(moment)
    assert cal.is_open(opens)
    assert cal.elapsed(moment, opens) == timedelta(0)
    assert cal.is_open(moment) == (opens == moment)


def _transitions(zone_name: str) -> list[datetime]:
    """Every UTC hour, 2018-2026, at which the zone's offset differs from the hour before."""
    zone = ZoneInfo(zone_name)
    found = []
    moment = datetime(2018, 1, 1, tzinfo=UTC)
    previous = moment.astimezone(zone).utcoffset()
    while moment.year < 2027:
        moment += timedelta(hours=1)
        offset = moment.astimezone(zone).utcoffset()
        if offset != previous:
            found.append(moment)
        previous = offset
    return found


DST_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Sao_Paulo", "Asia/Tehran"]
TRANSITIONS = {zone: _transitions(zone) for zone in DST_ZONES}


@st.composite
def near_a_transition(draw: st.DrawFn) -> tuple[BusinessCalendar, datetime]:
    """A calendar open at night in a DST zone, and an instant within two days of a change."""
    zone = draw(st.sampled_from(DST_ZONES))
    weekly: dict[str, list[tuple[str, str]]] = {}
    for day in WEEKDAYS:
        cuts = sorted(draw(st.sets(st.integers(0, 48), min_size=2, max_size=6)))
        weekly[day] = [(_half_hours(cuts[i]), _half_hours(cuts[i + 1])) for i in range(0, len(cuts) - 1, 2)]
    change = draw(st.sampled_from(TRANSITIONS[zone]))
    offset = draw(st.integers(-2 * 86_400, 2 * 86_400))
    return make(zone, weekly), change + timedelta(seconds=offset)


@settings(max_examples=300, deadline=None)
@given(near_a_transition(), st.integers(0, 4 * 86_400), st.integers(0, 60 * 3600))
def test_dst_changes_match_the_reference(case: tuple[BusinessCalendar, datetime], gap: int, target: int) -> None:
    cal, start = case
    end = start + timedelta(seconds=gap)
    assert cal.elapsed(start, end) == reference_elapsed(cal, start, end)
    due = cal.add(start, timedelta(seconds=target))
    assert reference_elapsed(cal, start, due) == timedelta(seconds=target)
    assert cal.is_open(due)


def test_a_close_inside_a_spring_forward_gap_does_not_count_twice() -> None:
    # New York, 2026-03-08: 02:00-03:00 does not exist. 01:00-02:30 closes inside the gap (read
    # with the offset before it: 07:30Z), after 03:00 EDT (07:00Z) opened: one stretch, 06:00Z-09:00Z.
    cal = make("America/New_York", {"sun": [("01:00", "02:30"), ("03:00", "05:00")]})
    start = datetime(2026, 3, 8, 7, 15, tzinfo=UTC)
    assert cal.add(start, timedelta(minutes=10)) == datetime(2026, 3, 8, 7, 25, tzinfo=UTC)
    assert cal.elapsed(start, cal.add(start, timedelta(minutes=10))) == timedelta(minutes=10)
    day = (datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 3, 9, 5, tzinfo=UTC))
    assert cal.elapsed(*day) == timedelta(hours=3)
