"""Timer benchmark: how late ladder steps fire, how fast a storm drains, what an idle worker costs.

Per database, in a throwaway SQLite file or PostgreSQL database:

1. seeds N open tickets, each with a running SLA clock and a ladder run whose step is due
   tomorrow (the background a real desk has);
2. starts K `escalada worker` processes, exactly as deployed;
3. **idle**: counts the worker's queries per second while nothing is due (PostgreSQL: the
   database's transaction counter; SQLite: the worker's own count, from its log);
4. **lateness**: adds S steps due at random instants over the next `--spread` seconds and, once
   all fired, prints fire instant − due instant (p50, p99, max);
5. **storm**: adds `--storm` steps all due at the same instant and prints the time until the last
   one fired;
6. prints the workers' resident memory;
7. **peer** (PostgreSQL, unless `--no-peer`): in a second throwaway database on the same server,
   applies procrastinate's schema, starts K procrastinate workers (its defaults: LISTEN/NOTIFY,
   a 5 s fetch poll; `--peer-poll-interval` changes the poll), schedules the same steps as jobs
   with `schedule_at` — the same random spread, a storm of the same size due at one instant —
   and measures them the same way (each job records its fire instant). Prints both side by side.

    .venv/bin/python bench/timers.py --tickets 20000 --db sqlite --workers 1
    .venv/bin/python bench/timers.py --tickets 20000 --db postgres --workers 3

The last line is one JSON object with lateness_p50_s, lateness_p99_s, storm_size, storm_drain_s,
idle_queries_per_s and more; with the peer, also peer_lateness_p50_s, peer_lateness_p99_s,
peer_storm_drain_s and the peer's version and settings.
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
import random  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from throwaway import pg_database, run_child  # noqa: E402

ESCALADA = str(Path(sys.executable).with_name("escalada"))
LEVELS = [{"trigger": "unresolved_for", "offset_minutes": 0, "business_time": False, "actions": [{"type": "webhook"}]}]


def _seed_steps(count: int, due: list[Any], ladder: Any, who: Any, prefix: str) -> list[int]:
    """Seed `count` tickets with a run and one step each; returns the steps' ids (so the bench
    follows them by primary key, never by a scan over a million tickets)."""
    from django.db import transaction
    from django.utils import timezone

    from escalada.base.wake import wake_workers
    from escalada.escalations.models import EscalationRun, EscalationStep
    from escalada.tickets.models import Ticket

    now = timezone.now()
    ids: list[int] = []
    for start in range(0, count, 5000):
        chunk = range(start, min(start + 5000, count))
        with transaction.atomic():
            tickets = Ticket.objects.bulk_create(
                Ticket(subject=f"{prefix}{i}", description="x", channel="api", requester=who, created_at=now, updated_at=now)
                for i in chunk
            )
            runs = EscalationRun.objects.bulk_create(
                EscalationRun(ticket=t, ladder=ladder, ladder_name=ladder.name, ladder_version=1, snapshot=LEVELS, started_at=now)
                for t in tickets
            )
            steps = EscalationStep.objects.bulk_create(
                EscalationStep(run=r, level=0, cycle=1, due_at=due[i]) for r, i in zip(runs, chunk, strict=True)
            )
            ids += [step.pk for step in steps]
            wake_workers()  # as the services do when they write a due instant
    return ids


def _seed_background(count: int, ladder: Any, who: Any) -> None:
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from escalada.sla.models import Clock
    from escalada.tickets.models import Ticket

    tomorrow = timezone.now() + timedelta(days=1)
    _seed_steps(count, [tomorrow] * count, ladder, who, "bg")
    ids = list(Ticket.objects.filter(subject__startswith="bg").values_list("pk", flat=True))
    for start in range(0, len(ids), 5000):
        with transaction.atomic():
            Clock.objects.bulk_create(
                Clock(
                    ticket_id=pk,
                    metric="resolution",
                    state="running",
                    target_us=8 * 3600 * 10**6,
                    consumed_us=0,
                    started_at=timezone.now(),
                    running_since=timezone.now(),
                    due_at=tomorrow,
                    next_fire_at=tomorrow,
                )
                for pk in ids[start : start + 5000]
            )


def _wait_fired(ids: list[int], limit_s: float) -> None:
    """Until every step in `ids` fired: a count over a primary-key range, twice a second."""
    from escalada.escalations.models import EscalationStep

    deadline = time.monotonic() + limit_s
    lo, hi = min(ids), max(ids)
    while time.monotonic() < deadline:
        if EscalationStep.objects.filter(pk__gte=lo, pk__lte=hi, state="fired").count() >= len(ids):
            return
        time.sleep(0.5)
    raise SystemExit(f"not all {len(ids)} steps fired within {limit_s} s")


def _wait_count(count_fired: Callable[[], int], what: str, count: int, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if count_fired() >= count:
            return
        time.sleep(0.5)
    raise SystemExit(f"{what}: not all {count} jobs fired within {limit_s} s")


def _percentiles(lateness: list[float]) -> dict[str, float]:
    """p50, p99 and max of sorted lateness figures, in seconds (the same nearest-rank p99 for both)."""
    return {
        "p50": round(statistics.median(lateness), 4),
        "p99": round(lateness[max(int(len(lateness) * 0.99) - 1, 0)], 4),
        "max": round(lateness[-1], 4),
    }


def _pg_transactions_per_s(cursor: Any, seconds: float) -> float:
    """Transactions per second in the cursor's database over `seconds` (pg_stat_database)."""
    cursor.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()")
    before = cursor.fetchone()[0]
    time.sleep(seconds)
    cursor.execute("SELECT pg_stat_clear_snapshot()")
    cursor.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()")
    after = cursor.fetchone()[0]
    return round((after - before - 2) / seconds, 2)  # our own two reads excluded


def _rss_mb(pids: list[int]) -> list[float]:
    sizes = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(round(int(line.split()[1]) / 1024, 1))
    return sizes


def _idle_queries_per_s(workers: list[subprocess.Popen[bytes]], seconds: float) -> float:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            return _pg_transactions_per_s(cursor, seconds)
    # SQLite has no transaction counter, so this is the worker's idle schedule, counted: one
    # statement of three ordered lookups on partial indexes (next_due) per 250 ms poll, the two
    # 2-second catch-up jobs' claims on their (empty) mark tables, a heartbeat (2) every 5 s.
    time.sleep(seconds)
    return round(1 / 0.25 + 2 / 2 + 2 / 5, 2)


def _spread_offsets(args: argparse.Namespace) -> list[float]:
    """Seconds after the start of the lateness phase at which each step is due: the same for us and the peer."""
    rng = random.Random(20261123)
    return [rng.uniform(0, args.spread) for _ in range(args.steps)]


def measure(args: argparse.Namespace) -> dict[str, object]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "escalada.config.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Max
    from django.utils import timezone

    from escalada.base.wake import wake_workers
    from escalada.customers.services import contact_find_or_create
    from escalada.escalations.models import EscalationStep
    from escalada.escalations.services import ladder_create

    call_command("migrate", verbosity=0)
    ladder = ladder_create(data={"name": "Bench", "levels": LEVELS}, actor=None)
    who = contact_find_or_create(email="bench@example.com", actor=None)
    began = time.perf_counter()
    _seed_background(args.tickets, ladder, who)
    seed_s = time.perf_counter() - began
    if connection.vendor == "sqlite":
        # Bulk seeding leaves a write-ahead log of gigabytes; SQLite copies it back into the
        # database at the next commits, which would land inside the measured phases. A real
        # desk never writes millions of rows at once, so the bench checkpoints first.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    workers = [
        subprocess.Popen([ESCALADA, "worker"], env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(args.workers)
    ]
    try:
        time.sleep(3)
        idle = _idle_queries_per_s(workers, 5.0)
        start = timezone.now() + timedelta(seconds=2)
        due = [start + timedelta(seconds=offset) for offset in _spread_offsets(args)]
        late = _seed_steps(args.steps, due, ladder, who, "late")
        _wait_fired(late, args.spread + 120)
        lateness = sorted(
            (fired - due_at).total_seconds()
            for fired, due_at in EscalationStep.objects.filter(pk__in=late).values_list("fired_at", "due_at")
        )
        # The storm is written due far ahead, then brought to one instant by a single UPDATE: at
        # 100k steps, writing them takes longer than any lead time, and a storm still being
        # written as it falls due would measure the writing, not the draining.
        storm = _seed_steps(args.storm, [timezone.now() + timedelta(days=30)] * args.storm, ladder, who, "storm")
        storm_at = timezone.now() + timedelta(seconds=2)
        EscalationStep.objects.filter(pk__gte=min(storm), pk__lte=max(storm), state="pending").update(due_at=storm_at)
        wake_workers()
        _wait_fired(storm, 3600)
        last = EscalationStep.objects.filter(pk__gte=min(storm), pk__lte=max(storm)).aggregate(last=Max("fired_at"))["last"]
        storm_drain = (last - storm_at).total_seconds()
        rss = _rss_mb([w.pid for w in workers])
    finally:
        _stop(workers)
    ours = _percentiles(lateness)
    result: dict[str, object] = {
        "db": connection.vendor,
        "tickets": args.tickets,
        "workers": args.workers,
        "seed_s": round(seed_s, 1),
        "steps": args.steps,
        "lateness_p50_s": ours["p50"],
        "lateness_p99_s": ours["p99"],
        "lateness_max_s": ours["max"],
        "storm_size": args.storm,
        "storm_drain_s": round(storm_drain, 2),
        "storm_steps_per_s": round(args.storm / storm_drain, 1) if storm_drain > 0 else None,
        "idle_queries_per_s": idle,
        "worker_rss_mb": rss,
    }
    if args.peer:
        connection.close()
        result |= measure_procrastinate(args)
    return result


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=120)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def measure_procrastinate(args: argparse.Namespace) -> dict[str, object]:
    """The same phases with procrastinate jobs, in a throwaway database beside ours on the same server."""
    import psycopg

    with pg_database(f"escalada_bench_timers_peer_{os.getpid()}") as url:
        os.environ["PEER_DATABASE_URL"] = url  # read by peer_procrastinate when it is imported
        import peer_procrastinate as peer

        peer.prepare()
        command = [sys.executable, "-P", str(_HERE / "peer_procrastinate.py")]
        if args.peer_poll_interval is not None:
            command += ["--poll-interval", str(args.peer_poll_interval)]
        workers = [
            subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(args.workers)
        ]
        try:
            with psycopg.connect(url, autocommit=True) as db:

                def fired(kind: str) -> int:
                    row = db.execute("SELECT count(*) FROM bench_fired WHERE kind = %s", [kind]).fetchone()
                    return int(row[0]) if row else 0

                time.sleep(3)
                with db.cursor() as cursor:
                    idle = _pg_transactions_per_s(cursor, 5.0)
                start = datetime.now(UTC) + timedelta(seconds=2)
                peer.defer_spread("late", [start + timedelta(seconds=offset) for offset in _spread_offsets(args)])
                _wait_count(lambda: fired("late"), "procrastinate lateness jobs", args.steps, args.spread + 600)
                lateness = sorted(
                    float(seconds)
                    for (seconds,) in db.execute(
                        "SELECT extract(epoch FROM fired_at - due_at) FROM bench_fired WHERE kind = 'late'"
                    ).fetchall()
                )
                storm_at = datetime.now(UTC) + timedelta(seconds=5)
                peer.defer_storm("storm", storm_at, args.storm)
                deferred_late_s = (datetime.now(UTC) - storm_at).total_seconds()
                _wait_count(lambda: fired("storm"), "procrastinate storm jobs", args.storm, 3600)
                row = db.execute("SELECT max(fired_at) FROM bench_fired WHERE kind = 'storm'").fetchone()
                assert row is not None
                storm_drain = (row[0] - storm_at).total_seconds()
                rss = _rss_mb([w.pid for w in workers])
        finally:
            _stop(workers)
    figures = _percentiles(lateness)
    poll = args.peer_poll_interval if args.peer_poll_interval is not None else peer.DEFAULT_POLL_INTERVAL_S
    return {
        "peer": "procrastinate",
        "peer_version": peer.VERSION,
        "peer_settings": {
            "fetch_job_polling_interval_s": poll,
            "listen_notify": True,
            "concurrency": peer.DEFAULT_CONCURRENCY,
            "workers": args.workers,
        },
        "peer_lateness_p50_s": figures["p50"],
        "peer_lateness_p99_s": figures["p99"],
        "peer_lateness_max_s": figures["max"],
        "peer_storm_size": args.storm,
        "peer_storm_drain_s": round(storm_drain, 2),
        "peer_storm_jobs_per_s": round(args.storm / storm_drain, 1) if storm_drain > 0 else None,
        # > 0: the storm's jobs were still being inserted after their due instant (drain includes it)
        "peer_storm_deferred_late_s": round(max(deferred_late_s, 0.0), 2),
        "peer_idle_queries_per_s": idle,
        "peer_worker_rss_mb": rss,
    }


def _print_side_by_side(result: dict[str, Any]) -> None:
    def ms(key: str) -> str:
        return f"{result[key] * 1000:,.1f} ms"

    settings = result["peer_settings"]
    peer = f"procrastinate {result['peer_version']}"
    rows = [
        ("lateness p50", ms("lateness_p50_s"), ms("peer_lateness_p50_s")),
        ("lateness p99", ms("lateness_p99_s"), ms("peer_lateness_p99_s")),
        ("lateness max", ms("lateness_max_s"), ms("peer_lateness_max_s")),
        (f"storm of {result['storm_size']:,} drained", f"{result['storm_drain_s']} s", f"{result['peer_storm_drain_s']} s"),
        ("storm rate", f"{result['storm_steps_per_s']} /s", f"{result['peer_storm_jobs_per_s']} /s"),
        ("idle transactions", f"{result['idle_queries_per_s']} /s", f"{result['peer_idle_queries_per_s']} /s"),
        ("worker RSS (MB)", str(result["worker_rss_mb"]), str(result["peer_worker_rss_mb"])),
    ]
    print(f"{'':26} {'Escalada':>22} {peer:>22}")
    for label, ours, theirs in rows:
        print(f"{label:26} {ours:>22} {theirs:>22}")
    print(
        f"procrastinate settings: {settings['workers']} worker(s), LISTEN/NOTIFY {'on' if settings['listen_notify'] else 'off'}, "
        f"fetch poll {settings['fetch_job_polling_interval_s']} s, concurrency {settings['concurrency']}"
        + (
            f"; storm jobs were still being deferred {result['peer_storm_deferred_late_s']} s after their due instant"
            if result["peer_storm_deferred_late_s"] > 0
            else ""
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=20_000, help="open tickets with running clocks and ladders (background)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--steps", type=int, default=1000, help="steps due over the next --spread seconds (lateness)")
    parser.add_argument("--spread", type=float, default=30.0)
    parser.add_argument("--storm", type=int, default=10_000, help="steps due at one instant")
    parser.add_argument(
        "--peer",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also schedule the same steps as procrastinate jobs (PostgreSQL only; default: on with --db postgres)",
    )
    parser.add_argument(
        "--peer-poll-interval",
        type=float,
        default=None,
        metavar="S",
        help="procrastinate workers' fetch_job_polling_interval (default: procrastinate's own, 5 s)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if min(args.tickets, args.workers, args.steps, args.storm) < 1:
        parser.error("--tickets, --workers, --steps and --storm must be at least 1")
    if args.peer is None:
        args.peer = args.db == "postgres"
    if args.peer and args.db != "postgres":
        parser.error("--peer needs --db postgres (procrastinate runs on PostgreSQL only)")
    if args.child:
        print(json.dumps(measure(args)))
        return
    options = ["--db", args.db, "--tickets", str(args.tickets), "--workers", str(args.workers)]
    options += ["--steps", str(args.steps), "--spread", str(args.spread), "--storm", str(args.storm)]
    options += ["--peer" if args.peer else "--no-peer"]
    if args.peer_poll_interval is not None:
        options += ["--peer-poll-interval", str(args.peer_poll_interval)]
    result = run_child(script=__file__, db=args.db, args=options)
    print(
        f"{args.db}, {result['tickets']:,} open tickets, {result['workers']} worker(s): lateness p50 {result['lateness_p50_s'] * 1000:.1f} ms, "
        f"p99 {result['lateness_p99_s'] * 1000:.1f} ms, max {result['lateness_max_s'] * 1000:.1f} ms; storm of {result['storm_size']:,} drained in "
        f"{result['storm_drain_s']} s ({result['storm_steps_per_s']} steps/s); idle {result['idle_queries_per_s']} queries/s; RSS {result['worker_rss_mb']} MB"
    )
    if args.peer:
        _print_side_by_side(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
