"""Set-wise statements for the ladder's storm path: a claimed batch's steps read in one query,
marked fired in one UPDATE guarded by their fences, and their repeats scheduled in one INSERT.

`escalada.desk.ladder` decides which steps may take this path; these functions only keep the
guarantees of the one-by-one path for many steps at once: a step is marked fired only if it is
still pending with the fence our claim gave it (a reschedule or a newer claim moved the fence,
and then we do nothing), and a repeat that exists already is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import connection

from escalada.escalations.models import EscalationStep, StepState


def steps_load(claimed: Sequence[tuple[int, int]]) -> list[EscalationStep]:
    """The claimed steps still pending with the claim's fence, with their runs, in claim order."""
    fences = dict(claimed)
    found = EscalationStep.objects.filter(pk__in=fences, state=StepState.PENDING).select_related("run")
    by_pk = {step.pk: step for step in found if step.fence == fences[step.pk]}
    return [by_pk[pk] for pk, _ in claimed if pk in by_pk]


def steps_mark_fired(steps: Sequence[EscalationStep], *, now: datetime, late_before: datetime) -> set[int]:
    """Mark fired, in one UPDATE, those of `steps` still pending with the fence they were loaded
    with (their fence moves on, as one by one); a step due before `late_before` is marked late.
    Returns the ids it marked: only those may fire."""
    if not steps:
        return set()
    table = EscalationStep._meta.db_table
    moment = connection.ops.adapt_datetimefield_value
    pairs = ", ".join(["(%s, %s)"] * len(steps))
    sql = (
        f"UPDATE {table} SET state = %s, fired_at = %s, is_late = (due_at < %s), fence = fence + 1 "  # noqa: S608 - names from the model
        f"WHERE state = %s AND (id, fence) IN (VALUES {pairs}) RETURNING id"
    )
    params: list[str | int | None] = [StepState.FIRED.value, moment(now), moment(late_before), StepState.PENDING.value]
    for step in steps:
        params += [step.pk, step.fence]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {int(pk) for (pk,) in cursor.fetchall()}


def repeats_schedule(fired: Sequence[tuple[EscalationStep, timedelta]], *, now: datetime) -> int:
    """Schedule the next cycle of each fired step whose level repeats every `timedelta`, unless
    its first cycle was acknowledged; a late step repeats from now, without replaying what was
    missed. One query for the acknowledgements, one INSERT. Returns how many it scheduled."""
    later = {step.run_id for step, _ in fired if step.cycle > 1}
    acknowledged = (
        set(
            EscalationStep.objects.filter(run_id__in=later, cycle=1, acknowledged_at__isnull=False).values_list("run_id", "level")
        )
        if later
        else set()
    )
    repeats = []
    for step, every in fired:
        first_acknowledged = step.acknowledged_at is not None if step.cycle == 1 else (step.run_id, step.level) in acknowledged
        if first_acknowledged or step.due_at is None:
            continue
        next_due = step.due_at + every
        if next_due <= now:
            next_due = now + every
        repeats.append(EscalationStep(run_id=step.run_id, level=step.level, cycle=step.cycle + 1, due_at=next_due))
    EscalationStep.objects.bulk_create(repeats, ignore_conflicts=True)  # one already scheduled stays as it is
    return len(repeats)
