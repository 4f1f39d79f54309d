"""Quiet hours in the person's own zone, across midnight and DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalada.core.quiet import quiet_until

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def night(now: datetime) -> datetime | None:
    """Quiet from 22:00 to 07:00 in Berlin."""
    return quiet_until(now=now, start=time(22), end=time(7), zone="Europe/Berlin")


def test_a_night_window_spans_midnight() -> None:
    assert night(berlin(23, 21, 59)) is None
    assert night(berlin(23, 22)) == berlin(24, 7)
    assert night(berlin(24, 3)) == berlin(24, 7)
    assert night(berlin(24, 7)) is None


def test_a_day_window_and_no_window() -> None:
    noon_tokyo = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)  # 12:30 in Tokyo
    assert quiet_until(now=noon_tokyo, start=time(12), end=time(13), zone="Asia/Tokyo") == datetime(2026, 11, 23, 4, tzinfo=UTC)
    assert quiet_until(now=noon_tokyo, start=time(9), end=time(9), zone="Asia/Tokyo") is None


def test_the_end_is_local_time_after_a_dst_change() -> None:
    # The night of 24-25 October 2026 has 25 hours in Berlin: 07:00 is still 07:00 local (06:00 UTC).
    assert night(berlin(24, 23, month=10)) == datetime(2026, 10, 25, 6, tzinfo=UTC)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        night(datetime(2026, 11, 23, 22))  # noqa: DTZ001


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)))
def test_the_end_is_after_now_within_a_day_and_outside_the_window(now: datetime) -> None:
    end = night(now)
    if end is None:
        local = now.astimezone(BERLIN).time()
        assert time(7) <= local < time(22)
    else:
        assert now < end <= now + timedelta(hours=10)
        assert night(end) is None
