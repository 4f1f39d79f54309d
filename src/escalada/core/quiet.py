"""Quiet hours: whether a person's local time lies in their quiet window, and until when.

The window is local wall-clock time in the person's IANA zone, `[start, end)`; a start after the
end spans midnight (22:00-07:00); equal start and end means no quiet hours. Wall times map to
instants with zoneinfo's fold=0, as in `core.calendar`.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def quiet_until(*, now: datetime, start: time, end: time, zone: str) -> datetime | None:
    """The instant (UTC) the quiet window around `now` ends, or None when `now` is not in one."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now is a naive datetime; give a timezone-aware one.")
    if start == end:
        return None
    local = now.astimezone(ZoneInfo(zone))
    clock = local.time().replace(tzinfo=None)
    spans_midnight = start > end
    inside = (start <= clock or clock < end) if spans_midnight else (start <= clock < end)
    if not inside:
        return None
    day = local.date()
    if spans_midnight and clock >= start:
        day += timedelta(days=1)
    wall_end = datetime.combine(day, end)
    return wall_end.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
