"""Calendar-edit benchmark: how long moving N running SLA clocks takes when their calendar changes.

Seeds N tickets, each with a running resolution clock on one Berlin calendar, into a throwaway
SQLite file and/or a throwaway PostgreSQL database, then times `calendar_update` (the service the
API and the settings page call): every clock's used time is brought up to the edit under the old
hours and its due and warning instants are recomputed under the new ones, in one transaction.

    .venv/bin/python bench/recompute.py                          # 100k clocks, sqlite then postgres
    .venv/bin/python bench/recompute.py --clocks 20000 --db sqlite

Prints one line per database, then one JSON object per database; the last line holds all of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/calendar.py would shadow the standard library's calendar module (which email and
# psycopg import): this script's folder is searched last, after the standard library.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE] + [str(_HERE)]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

from throwaway import run_child  # noqa: E402


def measure(clocks: int) -> dict[str, object]:
    """Runs inside a child process whose environment names the database."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "escalada.config.settings")
    django.setup()
    from datetime import UTC, datetime, timedelta

    from django.core.management import call_command
    from django.db import connection, transaction

    from escalada.core.sla import Metric, Warning, clock_start
    from escalada.customers.models import Contact
    from escalada.sla import adapters, services
    from escalada.sla.models import Clock
    from escalada.tickets.models import Ticket

    call_command("migrate", verbosity=0)
    weekly = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    start = datetime(2026, 11, 23, 9, tzinfo=UTC)
    calendar = services.calendar_create(
        data={"name": "Berlin", "time_zone": "Europe/Berlin", "weekly": weekly, "holiday_country": "DE"}, actor=None, now=start
    )
    core_calendar = adapters.calendar_to_core(calendar, now=start)
    contact = Contact.objects.create(name="Bench", email="bench@example.com")
    seeded = time.perf_counter()
    batch = 5000
    for offset in range(0, clocks, batch):
        size = min(batch, clocks - offset)
        with transaction.atomic():
            tickets = Ticket.objects.bulk_create(
                Ticket(
                    subject=f"t{offset + i}",
                    description="x",
                    channel="api",
                    requester=contact,
                    created_at=start,
                    updated_at=start,
                )
                for i in range(size)
            )
            rows = []
            for i, ticket in enumerate(tickets):
                began = start + timedelta(minutes=(offset + i) % 480)
                clock = clock_start(
                    metric=Metric.RESOLUTION,
                    target=timedelta(hours=8 + (offset + i) % 40),
                    warning=Warning(percent=75),
                    calendar=core_calendar,
                    now=began,
                )
                row = Clock(ticket=ticket, metric="resolution", cycle=1, calendar=calendar, fence=0)
                adapters.clock_copy(row, clock)
                rows.append(row)
            Clock.objects.bulk_create(rows)
    seed_s = time.perf_counter() - seeded
    edit_at = start + timedelta(minutes=1)  # every clock still runs, none is due yet
    mornings = {day: [["08:00", "12:00"], ["13:00", "18:00"]] for day in weekly}
    began = time.perf_counter()
    result = services.calendar_update(calendar=calendar, data={"weekly": mornings}, actor=None, now=edit_at)
    elapsed = time.perf_counter() - began
    assert result.clocks_recomputed == clocks, result.clocks_recomputed
    return {
        "db": connection.vendor,
        "clocks": clocks,
        "recompute_s": round(elapsed, 3),
        "clocks_per_s": round(clocks / elapsed),
        "seed_s": round(seed_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clocks", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.clocks < 1:
        parser.error("--clocks must be at least 1")
    if args.child:
        print(json.dumps(measure(args.clocks)))
        return
    results = {}
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        result = run_child(script=__file__, db=db, args=["--clocks", str(args.clocks)])
        results[db] = result
        print(
            f"{db:8s} recompute {result['clocks']:>7,} running clocks after a calendar edit: "
            f"{result['recompute_s']:.2f} s ({result['clocks_per_s']:,} clocks/s)"
        )
        print(json.dumps(result))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
