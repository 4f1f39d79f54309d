"""Holidays from an iCalendar (ICS) file: every all-day event's days.

Timed events (a closed afternoon) are not whole-day holidays and are skipped. Yearly or other
recurring events are expanded up to the ten-year horizon of a target.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dateutil.rrule import rrulestr
from icalendar import Calendar as ICalendar

MAX_DAYS = 5000  # more than a decade of holidays; a file past that is not a holiday list
HORIZON_YEARS = 11
RECURRING = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY")


def ics_holidays(content: bytes, *, now: datetime) -> list[date]:
    """The holiday dates in ``content``; ValueError with the problem in words."""
    try:
        parsed = ICalendar.from_ical(content)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise ValueError(f"This is not an iCalendar (.ics) file: {exc}") from None
    if isinstance(parsed, list):  # pragma: no cover - only with multiple=True
        raise ValueError("Upload one calendar at a time.")
    until = date(now.year + HORIZON_YEARS, 12, 31)
    days: set[date] = set()
    for event in parsed.walk("VEVENT"):
        start_prop = event.get("DTSTART")
        if start_prop is None:
            continue
        start = start_prop.dt
        if isinstance(start, datetime) or not isinstance(start, date):
            continue  # a timed event is not a whole-day holiday
        length = min(_length_in_days(event, start), MAX_DAYS + 1)
        for first in _occurrences(event, start, until):
            for offset in range(length):
                days.add(first + timedelta(days=offset))
            if len(days) > MAX_DAYS:
                raise ValueError(f"This file holds more than {MAX_DAYS} days off; is it really a holiday calendar?")
    if not days:
        raise ValueError("This file holds no all-day events; holidays are whole days.")
    return sorted(days)


def _length_in_days(event: Any, start: date) -> int:
    end_prop = event.get("DTEND")
    if end_prop is not None and isinstance(end_prop.dt, date) and not isinstance(end_prop.dt, datetime):
        return max((end_prop.dt - start).days, 1)
    duration = event.get("DURATION")
    if duration is not None and isinstance(duration.dt, timedelta):
        return max(duration.dt.days, 1)
    return 1


def _occurrences(event: Any, start: date, until: date) -> Iterator[date]:
    """The first days of the event's occurrences up to `until` (just `start` without a rule)."""
    rule = event.get("RRULE")
    if rule is None:
        yield start
        return
    frequency = (rule.get("FREQ") or [""])[0]
    if frequency not in RECURRING:
        raise ValueError(f"A holiday repeats at most daily; this event repeats {frequency.lower() or 'without a frequency'}.")
    # Dates as midnight UTC on both sides: RFC 5545 gives an all-day event's UNTIL as a date.
    limits = list(rule.get("UNTIL", []))
    text = rule.to_ical().decode()
    if limits:
        last = limits[0]
        last_day = last.date() if isinstance(last, datetime) else last
        text = ";".join(part for part in text.split(";") if not part.startswith("UNTIL="))
        text += f";UNTIL={last_day:%Y%m%d}T000000Z"
    anchor = datetime(start.year, start.month, start.day, tzinfo=UTC)
    end = datetime(until.year, until.month, until.day, tzinfo=UTC)
    for count, occurrence in enumerate(rrulestr(text, dtstart=anchor)):
        if occurrence > end or count > MAX_DAYS:
            return
        yield occurrence.date()
