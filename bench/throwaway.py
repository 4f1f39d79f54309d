"""Shared by the benchmarks: run this same script as a child process against a throwaway
database (a temporary SQLite data directory, or a PostgreSQL database created and dropped
around the run), and read the JSON object the child prints last."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BASE_URL = "postgres://postgres@127.0.0.1:5432"


@contextlib.contextmanager
def pg_database(name: str) -> Iterator[str]:
    """Create the PostgreSQL database `name`, yield its URL, and drop it afterwards, even if
    connections to it remain (a peer's worker that did not stop)."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{PG_BASE_URL}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run_child(*, script: str, db: str, args: list[str], env_extra: dict[str, str] | None = None) -> dict[str, object]:
    env = {**os.environ, **(env_extra or {})}
    with tempfile.TemporaryDirectory(prefix="escalada-bench-") as directory, contextlib.ExitStack() as databases:
        env["ESCALADA_DATA_DIR"] = directory
        if db == "postgres":
            name = f"escalada_bench_{os.path.basename(script).removesuffix('.py')}_{os.getpid()}"
            env["DATABASE_URL"] = databases.enter_context(pg_database(name))
        else:
            env.pop("DATABASE_URL", None)
        # -P: the script's own folder is not an import location (bench/calendar.py would
        # shadow the standard library's calendar module).
        command = [sys.executable, "-P", script, "--child", *args]
        done = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
        if done.returncode != 0:
            # The child's traceback says what went wrong; without it a failed run says nothing.
            sys.stderr.write(done.stderr[-5000:])
            raise SystemExit(f"{script} failed (exit {done.returncode}); its error output is above.")
        output = done.stdout
    result: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    return result
