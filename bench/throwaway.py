"""Shared by the benchmarks: run this same script as a child process against a throwaway
database (a temporary SQLite data directory, or a PostgreSQL database created and dropped
around the run), and read the JSON object the child prints last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BASE_URL = "postgres://postgres@127.0.0.1:5432"


def run_child(*, script: str, db: str, args: list[str], env_extra: dict[str, str] | None = None) -> dict[str, object]:
    env = {**os.environ, **(env_extra or {})}
    with tempfile.TemporaryDirectory(prefix="escalada-bench-") as directory:
        env["ESCALADA_DATA_DIR"] = directory
        database = None
        if db == "postgres":
            import psycopg

            database = f"escalada_bench_{os.path.basename(script).removesuffix('.py')}_{os.getpid()}"
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {database}")
            env["DATABASE_URL"] = f"{PG_BASE_URL}/{database}"
        else:
            env.pop("DATABASE_URL", None)
        try:
            # -P: the script's own folder is not an import location (bench/calendar.py would
            # shadow the standard library's calendar module).
            command = [sys.executable, "-P", script, "--child", *args]
            output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
        finally:
            if database is not None:
                import psycopg

                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    result: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    return result
