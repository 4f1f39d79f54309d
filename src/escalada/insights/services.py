"""Keeping the report rollups in step with the tickets.

Every event on a ticket, an escalation or an organization marks its subject (`audit.Change`, in
the event's transaction). `rollup_catch_up` — a worker job — claims marks, recomputes the facts of
the tickets they name, and applies to the rollups the difference between what each ticket
contributed before and what it contributes now, all in one transaction: a crash leaves the marks
to be claimed again, and a ticket refreshed twice changes nothing the second time. Two workers may
run it: marks are claimed with SKIP LOCKED (PostgreSQL) or one transaction at a time (SQLite), and a
ticket's fact row is locked while its difference is applied.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date

from django.db import connection, transaction

from escalada.audit.models import Change
from escalada.escalations.models import Escalation
from escalada.insights.facts import Facts, Key, Measures, facts_for, rows_of
from escalada.insights.models import (
    DIMENSIONS,
    ESCALATION_KEYS,
    ESCALATION_MEASURES,
    ROLLUP_KEYS,
    TICKET_MEASURES,
    EscalationRollup,
    OpenTicketCount,
    TicketFact,
    TicketRollup,
)
from escalada.tickets.models import Ticket

BATCH = 500
REBUILD_BATCH = 2000
_PLACEHOLDER_DAY = date(1970, 1, 1)

_TABLES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "ticket": (TicketRollup._meta.db_table, ROLLUP_KEYS, TICKET_MEASURES),
    "escalation": (EscalationRollup._meta.db_table, (*ROLLUP_KEYS, *ESCALATION_KEYS), ESCALATION_MEASURES),
    "open": (OpenTicketCount._meta.db_table, ("status", "team_id", "assignee_id"), ("tickets",)),
}


def rollup_catch_up(*, limit: int = BATCH) -> int:
    """Apply up to `limit` marked changes; returns how many marks it took (0 when caught up)."""
    with transaction.atomic():
        marks = list(Change.objects.select_for_update(skip_locked=True).order_by("pk")[:limit])
        if not marks:
            return 0
        by_type: dict[str, set[int]] = {}
        for mark in marks:
            by_type.setdefault(mark.subject_type, set()).add(mark.subject_id)
        ticket_ids = set(by_type.get("ticket", set()))
        if by_type.get("escalation"):
            ticket_ids |= set(Escalation.objects.filter(pk__in=by_type["escalation"]).values_list("ticket_id", flat=True))
        if by_type.get("organization"):
            # Its tier is a dimension of all its tickets: mark them, to be taken in later batches.
            Change.objects.bulk_create(
                (
                    Change(subject_type="ticket", subject_id=pk)
                    for pk in Ticket.objects.filter(organization_id__in=by_type["organization"]).values_list("pk", flat=True)
                ),
                batch_size=1000,
            )
        tickets_refresh(ticket_ids)
        Change.objects.filter(pk__in=[mark.pk for mark in marks]).delete()
        return len(marks)


def tickets_refresh(ticket_ids: Iterable[int]) -> int:
    """Recompute these tickets' facts and move the difference into the rollups; must run in a
    transaction. Returns how many tickets it looked at."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return 0
    # A row to lock for every ticket, also new ones: two workers refreshing the same ticket
    # then take turns, and the second sees what the first contributed.
    TicketFact.objects.bulk_create(
        (TicketFact(ticket_id=pk, day=_PLACEHOLDER_DAY, channel="", priority="", severity="") for pk in ids),
        ignore_conflicts=True,
        batch_size=1000,
    )
    before = {row.ticket_id: row.contribution for row in TicketFact.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    now = facts_for(ids)
    delta: list[tuple[str, Key, Measures]] = []
    for pk in ids:
        old = rows_of(before.get(pk) or {})
        new = facts_of_rows(now.get(pk))
        delta += [(table, key, {name: -value for name, value in measures.items()}) for table, key, measures in old]
        delta += new
    _apply(delta)
    gone = [pk for pk in ids if pk not in now]
    if gone:
        TicketFact.objects.filter(pk__in=gone).delete()
    TicketFact.objects.bulk_create(
        [_fact_row(pk, facts) for pk, facts in now.items()],
        update_conflicts=True,
        unique_fields=["ticket_id"],
        update_fields=[*DIMENSIONS, "organization_id", "escalations", "contribution"],
        batch_size=500,
    )
    return len(ids)


def facts_of_rows(facts: Facts | None) -> list[tuple[str, Key, Measures]]:
    return rows_of(facts.contribution()) if facts is not None else []


def _fact_row(pk: int, facts: Facts) -> TicketFact:
    values = dict(zip(DIMENSIONS, facts.dims, strict=True))
    return TicketFact(
        ticket_id=pk,
        organization_id=facts.organization_id,
        escalations=facts.ticket.get("escalations", 0),
        contribution=facts.contribution(),
        **values,
    )


def _apply(rows: Sequence[tuple[str, Key, Measures]]) -> None:
    """Add each row's measures to its rollup row (created at zero when missing)."""
    merged: dict[tuple[str, Key], Counter[str]] = {}
    for table, key, measures in rows:
        merged.setdefault((table, key), Counter()).update(measures)
    for table in _TABLES:
        db_table, keys, names = _TABLES[table]
        params = []
        # In key order: two workers updating overlapping rows lock them in the same order, so
        # one waits for the other instead of deadlocking.
        for (kind, key), counts in sorted(merged.items(), key=lambda item: item[0]):
            if kind == table and any(counts.values()):
                params.append([*key, *(counts.get(name, 0) for name in names)])
        if params:
            with connection.cursor() as cursor:
                cursor.executemany(_upsert_sql(db_table, keys, names), params)


def _upsert_sql(db_table: str, keys: Sequence[str], measures: Sequence[str]) -> str:
    # INSERT … ON CONFLICT … DO UPDATE is the same on SQLite (≥ 3.24) and PostgreSQL.
    q = connection.ops.quote_name
    columns = ", ".join(q(name) for name in (*keys, *measures))
    placeholders = ", ".join(["%s"] * (len(keys) + len(measures)))
    updates = ", ".join(f"{q(name)} = {q(db_table)}.{q(name)} + excluded.{q(name)}" for name in measures)
    conflict = ", ".join(q(name) for name in keys)
    # Only our own table and column names go into the text; every value is a parameter.
    return f"INSERT INTO {q(db_table)} ({columns}) VALUES ({placeholders}) ON CONFLICT ({conflict}) DO UPDATE SET {updates}"  # noqa: S608


def rollup_rebuild(*, batch: int = REBUILD_BATCH) -> int:
    """Recompute every ticket's facts and the rollups from the raw rows (after an upgrade, a
    restore, or a change to the report time zone). Safe while the worker runs: each batch is
    its own transaction through the same path as live changes."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Wait for workers inside a catch-up, and keep new ones out until the tables are
            # empty: a row a worker inserts meanwhile would otherwise survive the DELETE.
            models = (TicketFact, TicketRollup, EscalationRollup, OpenTicketCount)
            tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
        TicketRollup.objects.all().delete()
        EscalationRollup.objects.all().delete()
        OpenTicketCount.objects.all().delete()
        TicketFact.objects.all().delete()
    done, after = 0, 0
    while True:
        ids = list(Ticket.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return done
        with transaction.atomic():
            done += tickets_refresh(ids)
        after = ids[-1]
