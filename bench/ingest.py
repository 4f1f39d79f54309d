"""Ticket ingest benchmark: tickets created per second through the REST API, over loopback.

Starts the production web server exactly as `escalada serve` does (gunicorn, sync workers) on a
throwaway SQLite file and/or a throwaway PostgreSQL database, then has N client threads POST
/api/v1/tickets as fast as the server answers. Prints one human-readable summary line per database,
then one JSON object per database; with `--db both` the last line is a JSON object holding both.

    .venv/bin/python bench/ingest.py                      # sqlite then postgres, 4000 tickets each
    .venv/bin/python bench/ingest.py --db sqlite --tickets 1000 --web-workers 3

All traffic goes to 127.0.0.1; the run is bounded by --tickets and --max-seconds and cleans up after
itself (server stopped, temp directory removed, PostgreSQL database dropped).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
API_PATH = "/api/v1/tickets"
BENCH_USER = "bench"
BENCH_PASSWORD = "bench-pass-1234!"  # noqa: S105 - a throwaway user in a throwaway database
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BASE_URL = "postgres://postgres@127.0.0.1:5432"
REPO = Path(__file__).resolve().parent.parent
ERROR_BODIES_KEPT = 5


class BenchError(Exception):
    """The benchmark cannot run; the message says why."""


# --- the load -----------------------------------------------------------------------------------


@dataclass
class Phase:
    """What the clients saw during one phase (warmup or measured)."""

    latencies_s: list[float] = field(default_factory=list)
    created: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    error_bodies: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    is_complete: bool = True


def ticket_body(i: int) -> bytes:
    return json.dumps(
        {
            "subject": f"Invoice total looks wrong (bench #{i})",
            "description": (
                f"Hello support, ticket {i} from the ingest benchmark. My account balance has been wrong "
                "since the last invoice; the total does not match the line items. Could you check?"
            ),
            "requester_email": f"customer{i % 500}@example{i % 50}.com",
            "channel": "api",
            "priority": "normal",
        }
    ).encode()


def run_phase(*, port: int, token: str, first: int, count: int, clients: int, max_seconds: float) -> Phase:
    """POST `count` tickets with `clients` threads; each thread keeps its own connection."""
    bodies = [ticket_body(i) for i in range(first, first + count)]  # built up front: the client shares the CPU
    next_index = itertools.count()  # next() on itertools.count is atomic under the GIL
    phase = Phase()
    lock = threading.Lock()
    start_line = threading.Barrier(clients + 1)
    stop_event = threading.Event()

    def client() -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
        latencies: list[float] = []
        statuses: Counter[str] = Counter()
        bad_bodies: list[str] = []
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        start_line.wait()
        while not stop_event.is_set():
            index = next(next_index)
            if index >= count:
                break
            began = time.perf_counter()
            try:
                conn.request("POST", API_PATH, body=bodies[index], headers=headers)
                response = conn.getresponse()
                payload = response.read()
                latencies.append(time.perf_counter() - began)
                statuses[str(response.status)] += 1
                if response.status != 201 and len(bad_bodies) < ERROR_BODIES_KEPT:
                    bad_bodies.append(f"{response.status}: {payload[:300].decode(errors='replace')}")
                if response.will_close:  # gunicorn's sync workers close after every response
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                latencies.append(time.perf_counter() - began)
                statuses[type(exc).__name__] += 1
                if len(bad_bodies) < ERROR_BODIES_KEPT:
                    bad_bodies.append(f"{type(exc).__name__}: {exc}")
                conn.close()
        conn.close()
        with lock:
            phase.latencies_s.extend(latencies)
            phase.statuses.update(statuses)
            room = ERROR_BODIES_KEPT - len(phase.error_bodies)
            phase.error_bodies.extend(bad_bodies[: max(0, room)])

    threads = [threading.Thread(target=client, name=f"bench-client-{n}", daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    deadline = began + max_seconds
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.perf_counter()))
    if any(thread.is_alive() for thread in threads):
        phase.is_complete = False
        stop_event.set()  # the clients finish their request in flight and stop
        for thread in threads:
            thread.join(timeout=35)
    phase.elapsed_s = time.perf_counter() - began
    phase.created = phase.statuses.get("201", 0)
    return phase


def percentile_ms(sorted_s: list[float], pct: float) -> float | None:
    """Nearest-rank percentile, in milliseconds; None when there is no sample."""
    if not sorted_s:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_s)))
    return round(sorted_s[rank - 1] * 1000, 2)


# --- the server and its database -----------------------------------------------------------------


def escalada_command() -> str:
    """The `escalada` script of the interpreter running this file, else the repository's venv."""
    for candidate in (Path(sys.executable).parent / "escalada", REPO / ".venv" / "bin" / "escalada"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("escalada")
    if found is None:
        raise BenchError("Cannot find the `escalada` command; install the project (pip install -e .) first.")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def postgres_check() -> None:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        raise BenchError(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({str(exc).strip()}). "
            "Start it (user postgres, trust auth on 127.0.0.1:5432) or run with --db sqlite."
        ) from exc


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database for one run, dropped afterwards; yields its DATABASE_URL."""
    import psycopg
    from psycopg import sql

    name = f"escalada_bench_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{PG_BASE_URL}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def run_checked(command: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise BenchError(f"{what} failed (exit {result.returncode}):\n{result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def prepare(env: dict[str, str]) -> None:
    """Migrate and create the bench admin."""
    escalada = escalada_command()
    run_checked([escalada, "manage", "migrate", "--verbosity", "0"], env, "escalada manage migrate")
    run_checked(
        [escalada, "createadmin", "--username", BENCH_USER, "--email", "bench@example.com", "--password", BENCH_PASSWORD],
        env,
        "escalada createadmin",
    )


def token_create(env: dict[str, str]) -> str:
    out = run_checked([escalada_command(), "token", "create", BENCH_USER], env, "escalada token create")
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    if not lines:
        raise BenchError("escalada token create printed no token.")
    return lines[-1]


def count_tickets(env: dict[str, str]) -> int | None:
    """Tickets in the database after the run: proves the 201s were real rows."""
    code = "from escalada.tickets.models import Ticket; print(Ticket.objects.count())"
    try:
        out = run_checked([escalada_command(), "manage", "shell", "-c", code], env, "counting tickets")
        return int(out.strip().splitlines()[-1])
    except (BenchError, ValueError, IndexError, subprocess.TimeoutExpired) as exc:
        print(f"bench: could not count the stored tickets: {exc}", file=sys.stderr)
        return None


def worker_processes(master_pid: int) -> int | None:
    """How many gunicorn workers the master forked (Linux /proc), or None when it cannot tell."""
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    except OSError:
        return None
    return len(children)


def wait_healthy(server: subprocess.Popen[bytes], port: int, log_path: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"The server exited (status {server.returncode}) before answering:\n{tail(log_path)}")
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise BenchError(f"The server did not answer GET /healthz with 200 within {timeout_s:.0f} s:\n{tail(log_path)}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # gunicorn: graceful shutdown of master and workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


@contextlib.contextmanager
def running_server(env: dict[str, str], port: int, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [escalada_command(), "serve", "--host", HOST, "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(server, port, log_path)
        yield server
    finally:
        stop_server(server)


# --- one benchmark ---------------------------------------------------------------------------------


def bench_one(db: str, args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"escalada-bench-{db}-"))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "ESCALADA_WEB_WORKERS", "ESCALADA_DEBUG"}}
    env.update(
        {
            "ESCALADA_DATA_DIR": str(data_dir),
            "ESCALADA_ACCESS_LOG": "/dev/null",
            "ESCALADA_DEBUG": "false",
            "DJANGO_SETTINGS_MODULE": "escalada.config.settings",
        }
    )
    if args.web_workers:
        env["ESCALADA_WEB_WORKERS"] = str(args.web_workers)
    port = args.port or free_port()
    try:
        with contextlib.ExitStack() as stack:
            if db == "postgres":
                env["DATABASE_URL"] = stack.enter_context(postgres_database())
            print(f"bench [{db}]: migrating and creating the bench user…", file=sys.stderr, flush=True)
            prepare(env)
            with running_server(env, port, data_dir / "server.log") as server:
                workers = worker_processes(server.pid)
                token = token_create(env)
                print(
                    f"bench [{db}]: server up on {HOST}:{port} ({workers or '?'} workers); "
                    f"{args.warmup} warmup + {args.tickets} measured tickets, {args.clients} clients…",
                    file=sys.stderr,
                    flush=True,
                )
                common = {"port": port, "token": token, "clients": args.clients, "max_seconds": args.max_seconds}
                warm = run_phase(first=0, count=args.warmup, **common) if args.warmup else Phase()
                measured = run_phase(first=args.warmup, count=args.tickets, **common)
            # Counted with the server stopped and before the PostgreSQL database is dropped.
            stored = count_tickets(env)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    latencies = sorted(measured.latencies_s)
    errors = len(latencies) - measured.created
    return {
        "db": db,
        "tickets_per_s": round(measured.created / measured.elapsed_s, 1) if measured.elapsed_s else 0.0,
        "p50_ms": percentile_ms(latencies, 50),
        "p90_ms": percentile_ms(latencies, 90),
        "p99_ms": percentile_ms(latencies, 99),
        "max_ms": percentile_ms(latencies, 100),
        "mean_ms": round(sum(latencies) / len(latencies) * 1000, 2) if latencies else None,
        "tickets": measured.created,
        "requests": len(latencies),
        "errors": errors,
        "statuses": dict(measured.statuses),
        "error_samples": measured.error_bodies,
        "warmup": args.warmup,
        "warmup_errors": len(warm.latencies_s) - warm.created,
        "stored_tickets": stored,
        "elapsed_s": round(measured.elapsed_s, 3),
        "complete": measured.is_complete,
        "clients": args.clients,
        "workers": workers,
        "server": "gunicorn sync (escalada serve)",
        "cpus": os.cpu_count(),
    }


def ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def summary_line(result: dict[str, Any]) -> str:
    line = (
        f"{result['db']:<8} {result['tickets']} tickets in {result['elapsed_s']:.2f} s = {result['tickets_per_s']:.1f} tickets/s; "
        f"latency p50 {ms(result['p50_ms'])}, p99 {ms(result['p99_ms'])}, max {ms(result['max_ms'])}; "
        f"{result['clients']} clients, {result['workers'] or '?'} gunicorn workers, {result['errors']} errors"
    )
    if result["stored_tickets"] is not None:
        line += f"; {result['stored_tickets']} tickets stored (incl. {result['warmup']} warmup)"
    if not result["complete"]:
        line += f"; STOPPED at --max-seconds before all {result['requests']} requests were sent"
    return line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Tickets created per second through the REST API (gunicorn, loopback).")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--tickets", type=int, default=4000, help="measured tickets per database (default 4000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    parser.add_argument("--warmup", type=int, default=200, help="tickets sent first and not measured (default 200)")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--web-workers", type=int, default=0, help="gunicorn workers (default: what `escalada serve` picks)")
    parser.add_argument("--max-seconds", type=float, default=600, help="stop a phase after this long (default 600)")
    args = parser.parse_args(argv)
    if args.tickets < 1 or args.clients < 1 or args.warmup < 0 or args.web_workers < 0 or args.max_seconds <= 0:
        parser.error("--tickets and --clients must be at least 1; --warmup, --web-workers at least 0; --max-seconds positive")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    try:
        if "postgres" in dbs:
            postgres_check()  # fail before spending minutes on the SQLite half
        results = {db: bench_one(db, args) for db in dbs}
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1

    for result in results.values():
        print(summary_line(result))
        for sample in result["error_samples"]:
            print(f"  {result['db']} error: {sample}")
    for result in results.values():
        print(json.dumps(result, sort_keys=True))
    if len(results) > 1:
        last = results[dbs[-1]]
        combined = {
            "db": "both",
            "results": results,
            "tickets_per_s": last["tickets_per_s"],
            "p50_ms": last["p50_ms"],
            "p99_ms": last["p99_ms"],
            "errors": sum(r["errors"] for r in results.values()),
            "clients": args.clients,
        }
        print(json.dumps(combined, sort_keys=True))
    return 1 if any(r["errors"] or not r["complete"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
