"""Holidays from an iCalendar (ICS) file: every all-day event's days.

Timed events (a closed afternoon) are not whole-day holidays and are skipped. Yearly or other
recurring events are expanded up to the ten-year horizon of a target.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dateutil.rrule import rrulestr
from icalendar import Calendar as ICalendar

MAX_DAYS = 5000  # more than a decade of holidays; a file past that is not a holiday list
HORIZON_YEARS = 11


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
        end_prop = event.get("DTEND")
        length = 1
        if end_prop is not None and isinstance(end_prop.dt, date) and not isinstance(end_prop.dt, datetime):
            length = max((end_prop.dt - start).days, 1)
        elif event.get("DURATION") is not None:
            length = max(event.get("DURATION").dt.days, 1)
        firsts = [start]
        rule = event.get("RRULE")
        if rule is not None:
            anchor = datetime(start.year, start.month, start.day, tzinfo=UTC)
            expanded = rrulestr(rule.to_ical().decode(), dtstart=anchor)
            window = (datetime(start.year, 1, 1, tzinfo=UTC), datetime(until.year, 12, 31, tzinfo=UTC))
            firsts = [occurrence.date() for occurrence in expanded.between(*window, inc=True)]
        for first in firsts:
            for offset in range(length):
                days.add(first + timedelta(days=offset))
                if len(days) > MAX_DAYS:
                    raise ValueError(f"This file holds more than {MAX_DAYS} days off; is it really a holiday calendar?")
    if not days:
        raise ValueError("This file holds no all-day events; holidays are whole days.")
    return sorted(days)
