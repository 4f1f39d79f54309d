"""The timer bench's peer: procrastinate firing the same steps as jobs scheduled with `schedule_at`.

timers.py imports this module (the service never does) to apply procrastinate's schema to a
throwaway PostgreSQL database and defer the jobs; run as a script it is one procrastinate worker
on that database:

    PEER_DATABASE_URL=postgres://… python -P bench/peer_procrastinate.py [--poll-interval S]

The worker runs with procrastinate's defaults (`App.run_worker()`: LISTEN/NOTIFY on, a fetch
poll every 5 s, concurrency 1) unless `--poll-interval` is given. Each job's body records its
fire instant — `clock_timestamp()` when the body runs — in the table `bench_fired`.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from importlib import metadata

import procrastinate
from procrastinate import worker as procrastinate_worker
from procrastinate.types import JSONDict

VERSION = metadata.version("procrastinate")
DEFAULT_POLL_INTERVAL_S = procrastinate_worker.FETCH_JOB_POLLING_INTERVAL
DEFAULT_CONCURRENCY = procrastinate_worker.WORKER_CONCURRENCY

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=os.environ.get("PEER_DATABASE_URL", "")))

FIRED_TABLE = """
CREATE TABLE bench_fired (
    job_id bigint PRIMARY KEY,
    kind text NOT NULL,
    due_at timestamptz NOT NULL,
    fired_at timestamptz NOT NULL
)
"""


@app.task(name="fire", pass_context=True)
async def fire(context: procrastinate.JobContext, kind: str, due: str) -> None:
    job_id = context.job.id
    await app.connector.execute_query_async(
        "INSERT INTO bench_fired (job_id, kind, due_at, fired_at) VALUES (%(job_id)s, %(kind)s, %(due)s::timestamptz, clock_timestamp())",
        job_id=job_id,
        kind=kind,
        due=due,
    )


def prepare() -> None:
    """Apply procrastinate's schema and create the table the jobs write their fire instants to."""
    with app.open():
        app.schema_manager.apply_schema()
        app.connector.get_sync_connector().execute_query(FIRED_TABLE)


def defer_spread(kind: str, due: list[datetime]) -> None:
    """One job per due instant, each scheduled for its own instant (`schedule_at`)."""
    with app.open():
        for at in due:
            fire.configure(schedule_at=at).defer(kind=kind, due=at.isoformat())


def defer_storm(kind: str, at: datetime, count: int, chunk: int = 5000) -> None:
    """`count` jobs all scheduled for `at`, inserted `chunk` at a time (`batch_defer`)."""
    with app.open():
        deferrer = fire.configure(schedule_at=at)
        job: JSONDict = {"kind": kind, "due": at.isoformat()}
        for start in range(0, count, chunk):
            deferrer.batch_defer(*[job] * min(chunk, count - start))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=None,
        help=f"fetch_job_polling_interval in seconds (procrastinate's default: {DEFAULT_POLL_INTERVAL_S})",
    )
    args = parser.parse_args()
    options: dict[str, object] = {}
    if args.poll_interval is not None:
        options["fetch_job_polling_interval"] = args.poll_interval
    app.run_worker(**options)  # stops on SIGTERM (procrastinate installs its signal handlers)


if __name__ == "__main__":
    main()
