"""Set-wise statements for the ladder's storm path: a batch's steps as the take returned them,
their runs read in one query (each distinct snapshot parsed once), those that must fire one by
one put back to pending under a lease in one UPDATE, and repeats scheduled in one INSERT.

`escalada.desk.ladder` decides which steps take which path; these functions keep the
guarantees of the one-by-one path for many steps at once: a step put back gets a new fence (its
one-by-one firing checks it), and a repeat that exists already is left alone. They read plain
rows, not model instances: at a storm's ten thousand steps a second, building models cost more
than the database did.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from django.db import connection

from escalada.base.sql import instant, one_of
from escalada.core.ladder import Level
from escalada.escalations.models import EscalationRun, EscalationStep, StepState
from escalada.escalations.services import level_of


class Claimed(NamedTuple):
    """A step as our claim left it: `fence` is the one the claim gave it."""

    id: int
    fence: int
    run_id: int
    level: int
    occurrence: int
    cycle: int
    due_at: datetime | None
    acknowledged_at: datetime | None


class RunRow(NamedTuple):
    id: int
    ticket_id: int
    ladder_name: str
    levels: tuple[Level, ...] | None  # None: a snapshot we cannot read (its steps fire, and fail, alone)


CLAIMED_COLUMNS = "id, fence, run_id, level, occurrence, cycle, due_at, acknowledged_at"


def claimed_of(row: Sequence[Any]) -> Claimed:
    pk, fence, run_id, level, occurrence, cycle, due_at, acknowledged_at = row
    return Claimed(
        int(pk), int(fence), int(run_id), int(level), int(occurrence), int(cycle), instant(due_at), instant(acknowledged_at)
    )


def runs_load(run_ids: set[int]) -> dict[int, RunRow]:
    """The runs of a batch, one query; a snapshot shared by many runs is parsed once."""
    table = EscalationRun._meta.db_table
    where, params = one_of(connection, "id", run_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, ticket_id, ladder_name, CAST(snapshot AS TEXT) FROM {table} WHERE {where}", params)  # noqa: S608 - names from the model
        return {
            int(pk): RunRow(int(pk), int(ticket), name, _levels(snapshot)) for pk, ticket, name, snapshot in cursor.fetchall()
        }


@lru_cache(maxsize=256)
def _levels(snapshot: str) -> tuple[Level, ...] | None:
    try:
        return tuple(level_of(index, raw) for index, raw in enumerate(json.loads(snapshot)))
    except Exception:  # noqa: BLE001 - any unreadable snapshot is handled the same way: one by one
        return None


def steps_release(steps: Sequence[Claimed], *, until: datetime) -> list[tuple[int, int]]:
    """Put taken steps back to pending under this worker's lease (`until`), with a new fence,
    in one UPDATE: they fire one by one next. Returns their (id, fence) pairs, in due order."""
    if not steps:
        return []
    table = EscalationStep._meta.db_table
    moment = connection.ops.adapt_datetimefield_value
    where, ids = one_of(connection, "id", [step.id for step in steps])
    sql = (
        f"UPDATE {table} SET state = %s, fired_at = NULL, is_late = %s, claimed_until = %s, fence = fence + 1 "  # noqa: S608 - names from the model
        f"WHERE {where} RETURNING id, fence"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [StepState.PENDING.value, False, moment(until), *ids])
        fences = {int(pk): int(fence) for pk, fence in cursor.fetchall()}
    return [(step.id, fences[step.id]) for step in steps if step.id in fences]


def repeats_schedule(fired: Sequence[tuple[Claimed, timedelta]], *, now: datetime) -> int:
    """Schedule the next cycle of each fired step whose level repeats every `timedelta`, unless
    its first cycle was acknowledged; a late step repeats from now, without replaying what was
    missed. One query for the acknowledgements, one INSERT. Returns how many it scheduled."""
    later = {step.run_id for step, _ in fired if step.cycle > 1}
    acknowledged = (
        set(
            EscalationStep.objects.filter(run_id__in=later, cycle=1, acknowledged_at__isnull=False).values_list(
                "run_id", "level", "occurrence"
            )
        )
        if later
        else set()
    )
    repeats = []
    for step, every in fired:
        first = (step.run_id, step.level, step.occurrence)
        first_acknowledged = step.acknowledged_at is not None if step.cycle == 1 else first in acknowledged
        if first_acknowledged or step.due_at is None:
            continue
        next_due = step.due_at + every
        if next_due <= now:
            next_due = now + every
        repeats.append(
            EscalationStep(
                run_id=step.run_id, level=step.level, occurrence=step.occurrence, cycle=step.cycle + 1, due_at=next_due
            )
        )
    EscalationStep.objects.bulk_create(repeats, ignore_conflicts=True)  # one already scheduled stays as it is
    return len(repeats)
