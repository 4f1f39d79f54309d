"""Dashboard and reports benchmark: N tickets over a year, then the live dashboard page and every
report over the whole year.

Seeds N tickets (default 1,000,000) created over the last 365 days into a throwaway SQLite file
or PostgreSQL database — about 3 % still open, 8 % escalated (nine in ten of the resolved ones
with a root cause), a first-response and a resolution clock each (some breached, open ones due
over the next two days), an agent reply on every solved ticket, a rating on one in five — with
plain INSERTs (the verbs would take hours at this size). Then builds the report rollups with the
real `rollup_rebuild` (the same code the worker runs for live changes) and prints:

- the rebuild's rate (tickets per second);
- the dashboard page (`GET /dashboard/`, the whole request) p50 and p95 over 40 requests;
- each report over the year (median of 5), for its default grouping and the others it offers.

    .venv/bin/python bench/dashboard.py --tickets 1000000 --db sqlite
    .venv/bin/python bench/dashboard.py --tickets 1000000 --db postgres

The last line is one JSON object with dashboard_p50_ms, dashboard_p95_ms, slowest_report_ms,
slowest_report, reports_ms, rebuild_s, rebuild_tickets_per_s, seed_s, tickets.
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
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from throwaway import run_child  # noqa: E402

CHUNK = 20_000


def _pick(rng: random.Random, weighted: list[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _insert(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    from django.db import connection

    q = connection.ops.quote_name
    sql = f"INSERT INTO {q(table)} ({', '.join(q(c) for c in columns)}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            cursor.executemany(sql, rows[start : start + CHUNK])


def seed(count: int) -> dict[str, int]:  # noqa: PLR0915 - one straight recipe
    from datetime import UTC, datetime, timedelta

    from django.db import transaction

    from escalada.accounts.services import agent_create, team_create
    from escalada.customers.models import Contact, Organization
    from escalada.escalations.configuration import default_lists_ensure
    from escalada.escalations.models import Escalation, Hop, Reason, RootCause, RootCauseCategory
    from escalada.sla.models import Clock
    from escalada.tickets.models import Category, Message, SatisfactionRating, Ticket

    rng = random.Random(20261123)
    now = datetime.now(UTC)
    default_lists_ensure()
    teams = [team_create(name=n, actor=None) for n in ("Support", "Finance", "Engineering", "Success")]
    agents = [
        agent_create(username=f"agent{i}", email=f"agent{i}@bench.test", password=None, teams=[teams[i % 4]], actor=None).user
        for i in range(40)
    ]
    categories = [
        Category.objects.create(name=n, slug=n.lower()) for n in ("Billing", "Login", "Export", "API", "Outage", "Other")
    ]
    orgs = Organization.objects.bulk_create(
        Organization(name=f"Org {i}", tier=_pick(rng, [("free", 30), ("standard", 45), ("premium", 15), ("enterprise", 10)]))
        for i in range(2000)
    )
    contacts = Contact.objects.bulk_create(
        Contact(name=f"C {i}", email=f"c{i}@org{i % 2000}.test", organization=orgs[i % 2000]) for i in range(6000)
    )
    reasons = list(Reason.objects.values_list("pk", flat=True))
    causes = list(RootCauseCategory.objects.values_list("pk", flat=True))
    ticket_cols = [
        "id",
        "number",
        "subject",
        "description",
        "channel",
        "requester_id",
        "organization_id",
        "category_id",
        "priority",
        "severity",
        "status",
        "team_id",
        "assignee_id",
        "tier",
        "created_at",
        "updated_at",
        "last_customer_message_at",
        "last_agent_reply_at",
        "solved_at",
        "reopen_count",
    ]
    clock_cols = [
        "ticket_id",
        "metric",
        "cycle",
        "state",
        "target_us",
        "consumed_us",
        "started_at",
        "due_at",
        "breached_at",
        "fulfilled_at",
        "fence",
    ]
    msg_cols = ["ticket_id", "author_user_id", "visibility", "body_html", "body_text", "channel", "created_at"]
    esc_cols = [
        "id",
        "ticket_id",
        "type",
        "status",
        "level",
        "path",
        "path_reason",
        "reason_id",
        "reason_text",
        "tags",
        "severity",
        "to_team_id",
        "handoff_note",
        "context",
        "re_escalation_count",
        "opened_at",
        "resolved_at",
        "updated_at",
        "is_resolution_held",
    ]
    hop_cols = ["escalation_id", "type", "from_level", "to_level", "from_tier", "to_tier", "note", "at"]
    rca_cols = [
        "escalation_id",
        "category_id",
        "description",
        "corrective_action",
        "preventive_action",
        "customer_summary",
        "recorded_at",
    ]
    rating_cols = ["ticket_id", "round", "score", "comment", "rated_at"]
    tickets, clocks, messages, escalations, hops, rcas, ratings = [], [], [], [], [], [], []
    hour = timedelta(hours=1)
    for pk in range(1, count + 1):
        created = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
        recent = now - created < timedelta(days=3)
        is_open = rng.random() < (0.6 if recent else 0.03)
        contact = contacts[rng.randrange(len(contacts))]
        team = _pick(rng, [(teams[0], 55), (teams[1], 20), (teams[2], 15), (teams[3], 10)])
        priority = _pick(rng, [("normal", 60), ("high", 25), ("low", 10), ("urgent", 5)])
        status = (
            _pick(rng, [("new", 30), ("open", 50), ("pending", 15), ("on_hold", 5)])
            if is_open
            else _pick(rng, [("solved", 30), ("closed", 70)])
        )
        solved = None if is_open else created + timedelta(hours=rng.uniform(1, 96))
        replied = None if status == "new" else created + timedelta(minutes=rng.uniform(5, 300))
        assignee = None if status == "new" else agents[rng.randrange(len(agents))].pk
        tickets.append(
            (
                pk,
                pk,
                "Bench ticket",
                "Body",
                _pick(rng, [("email", 50), ("web", 25), ("chat", 15), ("phone", 7), ("social", 3)]),
                contact.pk,
                contact.organization_id,
                categories[rng.randrange(6)].pk,
                priority,
                _pick(rng, [("sev3", 50), ("sev4", 30), ("sev2", 15), ("sev1", 5)]),
                status,
                team.pk,
                assignee,
                1,
                created,
                solved or now,
                created,
                replied,
                solved,
                0,
            )
        )
        late = rng.random() < 0.08
        fr_due = created + hour
        if replied is None:
            clocks.append(
                (
                    pk,
                    "first_response",
                    1,
                    "running",
                    3_600_000_000,
                    0,
                    created,
                    now + timedelta(minutes=rng.uniform(1, 2880)),
                    None,
                    None,
                    1,
                )
            )
        else:
            clocks.append(
                (pk, "first_response", 1, "fulfilled", 3_600_000_000, 0, created, None, fr_due if late else None, replied, 1)
            )
        res_late = rng.random() < 0.12
        if solved is None:
            clocks.append(
                (
                    pk,
                    "resolution",
                    1,
                    "running",
                    28_800_000_000,
                    0,
                    created,
                    now + timedelta(minutes=rng.uniform(1, 2880)),
                    None,
                    None,
                    1,
                )
            )
        else:
            clocks.append(
                (
                    pk,
                    "resolution",
                    1,
                    "fulfilled",
                    28_800_000_000,
                    0,
                    created,
                    None,
                    solved - hour if res_late else None,
                    solved,
                    1,
                )
            )
            messages.append((pk, assignee or agents[0].pk, "public", "<p>Done.</p>", "Done.", "email", replied or solved))
            if rng.random() < 0.2:
                ratings.append((pk, 0, rng.choice([1, 2, 3, 4, 4, 5, 5, 5]), "", solved + hour))
        if rng.random() < 0.08:
            opened = created + timedelta(hours=rng.uniform(0.5, 20))
            resolved = None if solved is None else max(opened + hour, solved)
            estatus = "resolved" if resolved else _pick(rng, [("open", 30), ("acknowledged", 30), ("in_progress", 40)])
            escalations.append(
                (
                    len(escalations) + 1,
                    pk,
                    "hierarchical",
                    estatus,
                    2,
                    "[]",
                    "",
                    rng.choice(reasons),
                    "",
                    "[]",
                    "sev3",
                    team.pk,
                    "Hand-off note for the bench.",
                    "{}",
                    int(rng.random() < 0.05),
                    opened,
                    resolved,
                    resolved or opened,
                    False,
                )
            )
            hops.append((len(escalations), "hierarchical", 1, 2, 1, 2, "Hand-off.", opened))
            if resolved and rng.random() < 0.9:
                cause = causes[min(int(rng.paretovariate(1.2)) - 1, len(causes) - 1)]
                rcas.append((len(escalations), cause, "Cause.", "Fix.", "Prevent.", "Summary.", resolved))
    with transaction.atomic():
        _insert(Ticket._meta.db_table, ticket_cols, tickets)
        _insert(Clock._meta.db_table, clock_cols, clocks)
        _insert(Message._meta.db_table, msg_cols, messages)
        _insert(Escalation._meta.db_table, esc_cols, escalations)
        _insert(Hop._meta.db_table, hop_cols, hops)
        _insert(RootCause._meta.db_table, rca_cols, rcas)
        _insert(SatisfactionRating._meta.db_table, rating_cols, ratings)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (Ticket, Escalation):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table._meta.db_table}', 'id'), (SELECT MAX(id) FROM {table._meta.db_table}))"  # noqa: S608 - our table names
                )
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"tickets": len(tickets), "escalations": len(escalations), "root_causes": len(rcas), "ratings": len(ratings)}


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

    from escalada.insights import reports
    from escalada.insights.filters import ReportFilter
    from escalada.insights.services import rollup_rebuild

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    counts = seed(tickets)
    seed_s = time.perf_counter() - started
    print(f"seeded {counts} in {seed_s:.1f} s", file=sys.stderr)
    started = time.perf_counter()
    rollup_rebuild()
    rebuild_s = time.perf_counter() - started
    print(f"rollups rebuilt in {rebuild_s:.1f} s", file=sys.stderr)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    admin = User.objects.create_superuser("bench-admin", "admin@bench.test", "x" * 12)
    client = Client()
    client.force_login(admin)
    client.get("/dashboard/")
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        response = client.get("/dashboard/")
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    times.sort()
    today = datetime.now(UTC).date()
    year = ReportFilter(start=today - timedelta(days=364), end=today)
    timings: dict[str, float] = {}
    for name in reports.REPORTS:
        groups = reports.report_run(name, year, None).group_choices
        for group in groups:
            samples = []
            for _ in range(5):
                t0 = time.perf_counter()
                reports.report_run(name, year, group)
                samples.append((time.perf_counter() - t0) * 1000)
            timings[f"{name}:{group}"] = round(statistics.median(samples), 1)
    page = []
    for _ in range(5):
        t0 = time.perf_counter()
        assert client.get(f"/reports/escalation-rate/?from={year.start}&to={year.end}").status_code == 200
        page.append((time.perf_counter() - t0) * 1000)
    slowest = max(timings, key=lambda key: timings[key])
    return {
        "db": connection.vendor,
        "tickets": counts["tickets"],
        "escalations": counts["escalations"],
        "seed_s": round(seed_s, 1),
        "rebuild_s": round(rebuild_s, 1),
        "rebuild_tickets_per_s": round(counts["tickets"] / rebuild_s),
        "dashboard_p50_ms": round(statistics.median(times), 1),
        "dashboard_p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "reports_ms": timings,
        "report_page_p50_ms": round(statistics.median(page), 1),
        "slowest_report": slowest,
        "slowest_report_ms": timings[slowest],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.tickets, args.rounds)))
        return
    result = run_child(script=__file__, db=args.db, args=["--tickets", str(args.tickets), "--rounds", str(args.rounds)])
    print(
        f"{result['tickets']:,} tickets ({result['escalations']:,} escalated) on {result['db']}: seeded in {result['seed_s']} s"
    )
    print(f"rollups rebuilt in {result['rebuild_s']} s ({result['rebuild_tickets_per_s']:,} tickets/s)")
    print(f"dashboard page: p50 {result['dashboard_p50_ms']} ms, p95 {result['dashboard_p95_ms']} ms")
    for key, ms in result["reports_ms"].items():  # type: ignore[attr-defined]
        print(f"  report {key:<32} {ms:>8} ms (one year)")
    print(f"report page (escalation rate, one year): p50 {result['report_page_p50_ms']} ms")
    print(f"slowest report: {result['slowest_report']} {result['slowest_report_ms']} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
