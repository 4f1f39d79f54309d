"""Waking the workers when a nearer due instant is written.

On PostgreSQL a transaction that writes a due instant (an SLA clock, a ladder step, an outbox
message) sends `NOTIFY escalada_wake` when it commits, once per transaction; workers LISTEN and
look at once instead of waiting for their next poll. On SQLite workers poll (at most 250 ms).
"""

from __future__ import annotations

from django.db import connection, transaction

CHANNEL = "escalada_wake"


def _notify() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"NOTIFY {CHANNEL}")


def wake_workers() -> None:
    """Ask for a wake-up after the current transaction commits (a no-op on SQLite)."""
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        _notify()
        return
    if any(entry[1] is _notify for entry in connection.run_on_commit):
        return  # once per transaction
    transaction.on_commit(_notify)
