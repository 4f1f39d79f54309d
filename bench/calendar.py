"""Due-time computations per second: escalada.core.calendar against businesstimedelta (PyPI).

Both get the same calendar: Monday to Friday 09:00-17:00 in UTC with 160 holidays. For each
horizon (1 h, 100 h, 1,000 h of business time) each library computes due instants from the same
fixed-seed starts, for about `--seconds` of CPU each; the figures are computations per second
and the ratio. The answers are compared too (businesstimedelta reports a target that ends exactly
at a closing time as that closing, Escalada as the next opening, so such cases are counted apart).

    python bench/calendar.py [--seconds 2] [--starts 2000]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import businesstimedelta
import pytz

from escalada.core.calendar import BusinessCalendar

HORIZONS_H = (1, 100, 1000)
SEED = 20261123


def holidays_160() -> list[date]:
    """160 weekdays spread over eight years from 2026, a fixed pattern."""
    picked: list[date] = []
    day = date(2026, 1, 1)
    while len(picked) < 160:
        if day.weekday() < 5:
            picked.append(day)
        day += timedelta(days=17)
    return picked


def starts(count: int) -> list[datetime]:
    rng = random.Random(SEED)
    base = datetime(2026, 1, 5, tzinfo=UTC)
    return [base + timedelta(minutes=rng.randrange(0, 365 * 24 * 60)) for _ in range(count)]


def rate(compute: Callable[[datetime], datetime], moments: list[datetime], seconds: float) -> tuple[float, list[datetime]]:
    """Computations per second over as many of `moments` as fit in `seconds` (at least 20)."""
    results: list[datetime] = []
    began = time.perf_counter()
    for moment in moments:
        results.append(compute(moment))
        if len(results) >= 20 and time.perf_counter() - began > seconds:
            break
    return len(results) / (time.perf_counter() - began), results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per library and horizon")
    parser.add_argument("--starts", type=int, default=2000)
    args = parser.parse_args()

    holidays = holidays_160()
    ours = BusinessCalendar(
        timezone="UTC", weekly={day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}, holidays=holidays
    )
    rules = businesstimedelta.Rules(
        [
            businesstimedelta.WorkDayRule(
                start_time=datetime.min.time().replace(hour=9),
                end_time=datetime.min.time().replace(hour=17),
                working_days=[0, 1, 2, 3, 4],
                tz=pytz.utc,
            ),
            businesstimedelta.HolidayRule(holidays, tz=pytz.utc),
        ]
    )
    moments = starts(args.starts)
    report: dict[str, dict[str, float | int]] = {}
    print(f"calendar: Mon-Fri 09:00-17:00 UTC, {len(holidays)} holidays; {args.seconds:g} s per library and horizon")
    print(f"{'horizon':>8} {'escalada ops/s':>15} {'businesstimedelta ops/s':>24} {'ratio':>8} {'same answer':>12}")
    for hours in HORIZONS_H:
        target = timedelta(hours=hours)
        delta = businesstimedelta.BusinessTimeDelta(rules, hours=hours)

        def ours_due(moment: datetime, target: timedelta = target) -> datetime:
            return ours.add(moment, target)

        def theirs_due(moment: datetime, delta: businesstimedelta.BusinessTimeDelta = delta) -> datetime:
            due: datetime = (moment + delta).astimezone(UTC)
            return due

        our_rate, our_results = rate(ours_due, moments, args.seconds)
        their_rate, their_results = rate(theirs_due, moments, args.seconds)
        compared = min(len(our_results), len(their_results))
        same = sum(1 for i in range(compared) if our_results[i] == their_results[i])
        at_closing = sum(
            1
            for i in range(compared)
            if our_results[i] != their_results[i] and their_results[i].time() == datetime.min.time().replace(hour=17)
        )
        ratio = our_rate / their_rate
        report[f"{hours}h"] = {
            "escalada_ops_per_s": round(our_rate),
            "businesstimedelta_ops_per_s": round(their_rate, 1),
            "ratio": round(ratio, 1),
            "compared": compared,
            "same": same,
            "closing_vs_next_opening": at_closing,
        }
        print(f"{hours:>7}h {our_rate:>15,.0f} {their_rate:>24,.1f} {ratio:>7,.0f}x {same:>5}/{compared:<6}")
    disagreements = sum(int(r["compared"]) - int(r["same"]) - int(r["closing_vs_next_opening"]) for r in report.values())
    print(f"answers differing other than closing vs next opening: {disagreements}")
    print(json.dumps({"bench": "calendar", "horizons": report, "other_disagreements": disagreements}, sort_keys=True))


if __name__ == "__main__":
    main()
