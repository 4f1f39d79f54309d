"""Business calendars: when N business minutes after T is, and how much business time lies
between A and B.

Semantics (DESIGN.md, "Business-time semantics"):

- Datetimes are aware; a naive one is a ValueError. Each calendar has its own IANA zone.
- Opening intervals are half-open ``[open, close)`` in local wall-clock time, per weekday;
  ``"24:00"`` closes at midnight. Intervals that touch across midnight (22:00-24:00 and
  00:00-06:00 the next day) are one continuous stretch: nothing closes at midnight.
- Holidays are whole local dates; the calendar is closed on them.
- ``elapsed(a, b)`` is the business time in ``[a, b)`` in real seconds (a 09:00-17:00 day is 8 h
  on a DST day too; a 24/7 day lasts 23 or 25 h), zero when ``b <= a``.
- ``add(start, d)`` is the breach instant of a target ``d``: ``inf{t >= start : elapsed(start, t) > d}``.
  A target that runs out exactly at a closing time is due at the next opening; ``add(start, 0)``
  is ``start`` inside hours and the next opening outside.
- Wall-clock times are mapped to instants with zoneinfo's ``fold=0``: an ambiguous time is its
  first occurrence; a time skipped by a spring-forward gap is read with the offset before the gap.
- Microseconds are kept; nothing is rounded.

Cost: each day's business time is ``week prefix sums - holiday prefix sums + DST corrections``,
so a cumulative total to any date is O(log holidays); ``add`` binary-searches the date (about 12
steps over its ten-year horizon) and then reads that one day. No day-by-day walk.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_US = 86_400 * 1_000_000
WEEK_US = 7 * DAY_US
# Targets beyond this are refused: no SLA runs for ten years, and bounding the horizon bounds
# the binary search and the DST years it reads.
MAX_HORIZON = timedelta(days=3653)
_SEARCH_DAYS = MAX_HORIZON.days + 8


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _parse_clock(value: str, *, day: str) -> int:
    """'HH:MM' or 'HH:MM:SS' (or '24:00') as microseconds after local midnight."""
    parts = value.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise ValueError(f"{day}: {value!r} is not a time of day like '09:00' or '17:30'.")
    hours, minutes = int(parts[0]), int(parts[1])
    seconds = int(parts[2]) if len(parts) == 3 else 0
    if minutes > 59 or seconds > 59 or hours > 24 or (hours == 24 and (minutes or seconds)):
        raise ValueError(f"{day}: {value!r} is not a time of day between 00:00 and 24:00.")
    return ((hours * 60 + minutes) * 60 + seconds) * 1_000_000


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} is a naive datetime; give a timezone-aware one (e.g. with tzinfo=UTC).")


@dataclass(frozen=True)
class _DayPlan:
    """One weekday's opening intervals, in microseconds after local midnight, merged and sorted."""

    intervals: tuple[tuple[int, int], ...]

    @property
    def total(self) -> int:
        return sum(close - open_ for open_, close in self.intervals)


class BusinessCalendar:
    """A time zone, weekly opening hours and holidays. Immutable; safe to share between threads."""

    def __init__(
        self,
        *,
        timezone: str,
        weekly: Mapping[str, Sequence[tuple[str, str]]],
        holidays: Iterable[date] = (),
    ) -> None:
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{timezone!r} is not an IANA time zone such as Europe/Berlin.") from None
        self.timezone = timezone
        unknown = sorted(set(weekly) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"Unknown weekday(s) {', '.join(unknown)}; use {', '.join(WEEKDAYS)}.")
        self._plans = tuple(self._plan(day, weekly.get(day, ())) for day in WEEKDAYS)
        self._week_prefix = [0]
        for plan in self._plans:
            self._week_prefix.append(self._week_prefix[-1] + plan.total)
        self.week_total_us = self._week_prefix[-1]
        self.holidays = tuple(sorted(set(holidays)))
        self._holiday_ordinals = [h.toordinal() for h in self.holidays]
        # Wall-clock open time lost to holidays before each one (prefix sums).
        self._holiday_prefix = [0]
        for holiday in self.holidays:
            self._holiday_prefix.append(self._holiday_prefix[-1] + self._plans[holiday.weekday()].total)
        self._holiday_set = frozenset(self._holiday_ordinals)
        self._dst_cache: dict[int, tuple[list[int], list[int]]] = {}
        self._interval_cache: dict[int, list[tuple[datetime, datetime]]] = {}

    @staticmethod
    def _plan(day: str, intervals: Sequence[tuple[str, str]]) -> _DayPlan:
        parsed = sorted((_parse_clock(o, day=day), _parse_clock(c, day=day)) for o, c in intervals)
        merged: list[tuple[int, int]] = []
        for open_, close in parsed:
            if close <= open_:
                raise ValueError(f"{day}: an interval must close after it opens ({_clock(open_)}-{_clock(close)}).")
            if merged and open_ < merged[-1][1]:
                previous = merged[-1]
                raise ValueError(
                    f"{day}: {_clock(previous[0])}-{_clock(previous[1])} and {_clock(open_)}-{_clock(close)} overlap."
                )
            if merged and open_ == merged[-1][1]:  # touching intervals are one stretch
                merged[-1] = (merged[-1][0], close)
            else:
                merged.append((open_, close))
        return _DayPlan(tuple(merged))

    # --- public API ------------------------------------------------------------------------

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time in ``[start, end)``; zero when ``end <= start``."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end <= start:
            return timedelta(0)
        anchor = start.astimezone(self.zone).year
        return timedelta(microseconds=self._position(end, anchor) - self._position(start, anchor))

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The breach instant of a target of ``duration`` business time counted from ``start``
        (UTC): the first instant at which the business time since ``start`` exceeds it."""
        _require_aware(start, "start")
        if duration < timedelta(0):
            raise ValueError(f"A target cannot be negative ({duration}).")
        if duration > MAX_HORIZON:
            raise ValueError(f"A target can be at most {MAX_HORIZON.days} days of business time, not {duration}.")
        if self.week_total_us == 0:
            raise ValueError("This calendar is never open: give it opening hours on at least one weekday.")
        local_start = start.astimezone(self.zone)
        first = local_start.date().toordinal()
        # Fast path (most SLA targets): the target runs out inside the first opening interval
        # that has not closed yet on the start's date, with no open time between.
        start_utc = start.astimezone(UTC)
        for open_at, close_at in self._real_intervals(first):
            if close_at <= start_utc:
                continue
            due = max(start_utc, open_at) + duration
            if due < close_at:
                return due
            break
        anchor = local_start.year
        target = self._position(start, anchor) + _us(duration)
        lo = self._due_date(first, target, anchor)
        consumed = self._cumulative(lo, anchor)
        for open_at, close_at in self._real_intervals(lo):
            length = _us(close_at - open_at)
            if consumed + length > target:
                return open_at + timedelta(microseconds=target - consumed)
            consumed += length
        raise AssertionError("unreachable: the day found holds the target")  # pragma: no cover

    def _due_date(self, first: int, target: int, anchor: int) -> int:
        """The first date on or after ``first`` by whose end the business time exceeds ``target``.

        The weekly rate gives a guess (holidays only push the date later); galloping from it and
        then bisecting takes a few steps whatever the horizon.
        """

        def beyond(ordinal: int) -> bool:
            return self._cumulative(ordinal + 1, anchor) > target

        last = first + _SEARCH_DAYS
        per_day = self.week_total_us / 7
        guess = min(last, first + max(0, int((target - self._cumulative(first, anchor)) // per_day) - 1))
        if beyond(guess):
            lo, hi = first, guess
        else:
            lo, step = guess + 1, 1
            while True:
                probe = min(lo + step - 1, last)
                if beyond(probe):
                    hi = probe
                    break
                if probe == last:
                    raise ValueError("This calendar has no open time within ten years of the start (holidays cover it).")
                lo, step = probe + 1, step * 2
        while lo < hi:
            mid = (lo + hi) // 2
            if beyond(mid):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def is_open(self, at: datetime) -> bool:
        """Whether business time is running at this instant."""
        _require_aware(at, "at")
        ordinal = at.astimezone(self.zone).date().toordinal()
        at_utc = at.astimezone(UTC)
        candidates = self._real_intervals(ordinal - 1) + self._real_intervals(ordinal)
        return any(open_at <= at_utc < close_at for open_at, close_at in candidates)

    def next_open(self, at: datetime) -> datetime:
        """``at`` when open, else the next instant at which the calendar opens (UTC)."""
        return self.add(at, timedelta(0))

    # --- arithmetic ------------------------------------------------------------------------

    def _position(self, at: datetime, anchor_year: int) -> int:
        """Business microseconds from a fixed origin to ``at`` (see ``_cumulative``)."""
        ordinal = at.astimezone(self.zone).date().toordinal()
        at_utc = at.astimezone(UTC)
        within = 0
        for open_at, close_at in self._real_intervals(ordinal):
            if open_at >= at_utc:
                break
            within += _us(min(close_at, at_utc) - open_at)
        return self._cumulative(ordinal, anchor_year) + within

    def _cumulative(self, ordinal: int, anchor_year: int) -> int:
        """Business microseconds of all dates before ``ordinal`` (proleptic ordinal; 1 is a
        Monday), counted from a fixed origin; DST corrections count from ``anchor_year``, so
        only totals with the same anchor may be compared."""
        weeks, weekday = divmod(ordinal - 1, 7)
        wall = weeks * self.week_total_us + self._week_prefix[weekday]
        holidays_before = bisect.bisect_left(self._holiday_ordinals, ordinal)
        return wall - self._holiday_prefix[holidays_before] + self._dst_between(anchor_year, ordinal)

    def _dst_between(self, anchor_year: int, ordinal: int) -> int:
        """Real minus wall-clock open time of the DST-affected dates from 1 January of
        ``anchor_year`` up to ``ordinal`` (negative when ``ordinal`` lies before the anchor)."""
        year = date.fromordinal(ordinal).year
        ordinals, prefix = self._dst_year(year)
        partial = prefix[bisect.bisect_left(ordinals, ordinal)] if ordinals else 0
        if year == anchor_year:
            return partial
        if year > anchor_year:
            return sum(self._dst_year(y)[1][-1] for y in range(anchor_year, year)) + partial
        return partial - sum(self._dst_year(y)[1][-1] for y in range(year, anchor_year))

    def _dst_year(self, year: int) -> tuple[list[int], list[int]]:
        """The year's DST-affected open dates and the prefix sums of their corrections (cached)."""
        cached = self._dst_cache.get(year)
        if cached is None:
            ordinals = [o for o in _dst_dates(self.timezone, year) if o not in self._holiday_set]
            prefix = [0]
            for ordinal in ordinals:
                real = sum(_us(close - open_) for open_, close in self._real_intervals(ordinal))
                prefix.append(prefix[-1] + real - self._plans[(ordinal - 1) % 7].total)
            cached = (ordinals, prefix)
            self._dst_cache[year] = cached
        return cached

    def _real_intervals(self, ordinal: int) -> list[tuple[datetime, datetime]]:
        """The date's opening intervals as UTC instants (empty on holidays); cached per date."""
        cached = self._interval_cache.get(ordinal)
        if cached is None:
            if len(self._interval_cache) >= 8192:
                self._interval_cache.clear()
            cached = self._interval_cache[ordinal] = self._map_intervals(ordinal)
        return cached

    def _map_intervals(self, ordinal: int) -> list[tuple[datetime, datetime]]:
        if ordinal < 1 or ordinal in self._holiday_set:
            return []
        day = date.fromordinal(ordinal)
        midnight = datetime.combine(day, time(0))
        result: list[tuple[datetime, datetime]] = []
        for open_, close in self._plans[day.weekday()].intervals:
            open_at = (midnight + timedelta(microseconds=open_)).replace(tzinfo=self.zone).astimezone(UTC)
            close_at = (midnight + timedelta(microseconds=close)).replace(tzinfo=self.zone).astimezone(UTC)
            if close_at <= open_at:  # an interval inside a spring-forward gap has no real length
                continue
            if result and open_at <= result[-1][1]:
                # A close inside a spring-forward gap maps (fold=0) past the next opening: the
                # two stretches overlap in real time and are one.
                result[-1] = (result[-1][0], max(result[-1][1], close_at))
            else:
                result.append((open_at, close_at))
        return result


def _clock(microseconds: int) -> str:
    minutes = microseconds // 60_000_000
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --- DST transitions, found once per zone and year ---------------------------------------------


@lru_cache(maxsize=4096)
def _dst_dates(zone_name: str, year: int) -> tuple[int, ...]:
    """Ordinals of the dates in ``year`` whose length may differ from 24 h: an offset changes
    on them, or at the midnight that ends them (so the day before is included). Found by
    weekly sampling and bisection by day, once per zone and year."""
    if year < 2 or year > 9998:
        return ()
    zone = ZoneInfo(zone_name)

    def offset(ordinal: int) -> timedelta | None:
        return datetime.combine(date.fromordinal(ordinal), time(0), tzinfo=zone).utcoffset()

    first = date(year, 1, 1).toordinal()
    last = date(year + 1, 1, 1).toordinal()
    affected: set[int] = set()
    sample = first
    while sample < last:
        step_end = min(sample + 7, last)
        if offset(sample) != offset(step_end):
            lo, hi = sample, step_end  # offset(lo) != offset(hi): narrow to adjacent days
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == offset(lo):
                    lo = mid
                else:
                    hi = mid
            affected.update((lo - 1, lo, hi))
        sample = step_end
    return tuple(sorted(a for a in affected if first <= a < last))


class ContinuousCalendar:
    """Calendar time: always open, no holidays. Used for targets in calendar minutes, so the
    clocks read the same ``add``/``elapsed`` interface whether a policy counts business time or not."""

    timezone = "UTC"

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        _require_aware(start, "start")
        _require_aware(end, "end")
        return max(end - start, timedelta(0))

    def add(self, start: datetime, duration: timedelta) -> datetime:
        _require_aware(start, "start")
        if duration < timedelta(0):
            raise ValueError(f"A duration cannot be negative ({duration}).")
        if duration > MAX_HORIZON:
            raise ValueError(f"A duration beyond ten years ({duration.days} days) is not a support target.")
        return start.astimezone(UTC) + duration

    def is_open(self, at: datetime) -> bool:
        _require_aware(at, "at")
        return True

    def next_open(self, at: datetime) -> datetime:
        _require_aware(at, "at")
        return at.astimezone(UTC)
