"""Queue page benchmark: server-side render time and weight of `/queue/` with N open tickets.

Seeds N open tickets (default 1,000) for one team, each with running SLA clocks on a business
calendar and one in twenty escalated, into a throwaway SQLite file (or PostgreSQL database),
then renders the agent's queue page through Django's test client — the whole request: session,
middleware, the ranking (three queries and the score of every ticket) and the template — and
prints the median and p95 time, the page's size and its query count.

    .venv/bin/python bench/ui.py                       # 1,000 tickets, SQLite
    .venv/bin/python bench/ui.py --tickets 1000 --db postgres

The last line is one JSON object with queue_p50_ms, queue_p95_ms, queue_bytes and queue_queries.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/calendar.py would shadow the standard library's calendar module: search this folder last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE] + [str(_HERE)]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from throwaway import run_child  # noqa: E402


def measure(tickets: int, rounds: int) -> dict[str, object]:
    """Runs inside a child process whose environment names the database."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "escalada.config.settings")
    django.setup()
    from datetime import UTC, datetime, timedelta

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from escalada.accounts.services import agent_create, team_create
    from escalada.customers.services import contact_create, organization_create
    from escalada.desk import escalate as escalating
    from escalada.desk import verbs
    from escalada.sla import services as sla

    call_command("migrate", verbosity=0)
    now = datetime.now(UTC)
    weekly = {day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    calendar = sla.calendar_create(data={"name": "Berlin", "time_zone": "Europe/Berlin", "weekly": weekly}, actor=None, now=now)
    targets = [
        {"priority": p, "metric": m, "minutes": minutes, "warn_percent": 75}
        for p in ("urgent", "high", "normal", "low")
        for m, minutes in (("first_response", 60), ("resolution", 480))
    ]
    sla.policy_create(data={"name": "Standard", "rank": 10, "calendar": calendar, "targets": targets}, actor=None, now=now)
    team = team_create(name="Support", tier_count=3, actor=None)
    agent = agent_create(
        username="sam", email="sam@example.com", password=secrets.token_urlsafe(), full_name="Sam", teams=[team], actor=None
    )
    org = organization_create(data={"name": "Northwind", "domains": ["northwind.example"], "tier": "enterprise"}, actor=None)
    contact = contact_create(data={"name": "Ana", "email": "ana@northwind.example"}, actor=None)
    assert org.pk
    seeded = time.perf_counter()
    for i in range(tickets):
        ticket = verbs.ticket_open(
            subject=f"Request {i}",
            description="Something is wrong.",
            requester=contact,
            channel="web",
            team=team,
            priority=("urgent", "high", "normal", "normal", "low")[i % 5],
            severity=("sev1", "sev2", "sev3", "sev3", "sev4")[i % 5],
            actor=None,
            now=now - timedelta(minutes=i % 600),
        )
        if i % 20 == 0:
            escalating.escalate(
                ticket=ticket, actor=None, request=escalating.EscalateRequest(reason="lack-of-progress", handoff_note="bench")
            )
    seed_s = time.perf_counter() - seeded
    client = Client()
    client.force_login(User.objects.get(pk=agent.user.pk))
    client.get("/queue/")  # warm: templates, session
    timings = []
    for _ in range(rounds):
        began = time.perf_counter()
        response = client.get("/queue/")
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/queue/")
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        client.get("/queue/")
        profile.disable()
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(60)
    timings.sort()
    return {
        "db": connection.vendor,
        "tickets": tickets,
        "queue_p50_ms": round(statistics.median(timings), 1),
        "queue_p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 1),
        "queue_bytes": len(response.content),
        "queue_queries": len(queries),
        "seed_s": round(seed_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tickets < 1 or args.rounds < 1:
        parser.error("--tickets and --rounds must be at least 1")
    if args.child:
        print(json.dumps(measure(args.tickets, args.rounds)))
        return
    result = run_child(script=__file__, db=args.db, args=["--tickets", str(args.tickets), "--rounds", str(args.rounds)])
    print(
        f"{args.db}: /queue/ with {result['tickets']:,} open tickets: p50 {result['queue_p50_ms']} ms, "
        f"p95 {result['queue_p95_ms']} ms, {int(result['queue_bytes']) // 1024} KiB, {result['queue_queries']} queries "
        f"(goal: p50 ≤ 150 ms on SQLite)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
