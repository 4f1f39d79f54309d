"""Ladder runs on tickets: started from the ticket's policy's ladder (or a standalone ladder whose
conditions match), levels frozen into a snapshot, each level's next firing kept as a step with a
due instant. `run_sync` is called by the desk after anything that moves the ticket's clocks or
status; the timer (`escalada.desk.ladder`) fires due steps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F

from escalada.audit.services import event_record
from escalada.base.errors import Conflict, ValidationFailed
from escalada.base.wake import wake_workers
from escalada.core.calendar import ContinuousCalendar
from escalada.core.ladder import ClockTimes, Level, TicketTimes, level_due, level_occurrence
from escalada.core.matching import PolicyRule, match_policy
from escalada.escalations.models import EscalationRun, EscalationStep, Ladder, RunState, StepState
from escalada.escalations.services import level_of
from escalada.sla import adapters as sla_adapters
from escalada.sla.clocks import calendar_for
from escalada.sla.models import Clock, ClockState, TicketPolicy, TimesMoved
from escalada.tickets.models import Status, Ticket

WALL = ContinuousCalendar()
UNKNOWN_OCCURRENCE = 0  # steps from before occurrences (migration 0006)


def ladder_for(ticket: Ticket) -> Ladder | None:
    """The ladder of the ticket's SLA policy, else the first standalone ladder that matches."""
    binding = TicketPolicy.objects.filter(ticket=ticket).select_related("policy").first()
    if binding is not None and binding.policy_id is not None:
        ladder = Ladder.objects.filter(policy_id=binding.policy_id, is_active=True).first()
        if ladder is not None:
            return ladder
    standalone = {lad.pk: lad for lad in Ladder.objects.filter(policy__isnull=True, is_active=True)}
    if not standalone:
        return None
    rules = [
        PolicyRule(policy_id=lad.pk, name=lad.name, rank=lad.rank, conditions=sla_adapters.conditions_of(lad.conditions))
        for lad in standalone.values()
    ]
    match = match_policy(rules, sla_adapters.ticket_facts(ticket))
    return standalone[match.policy_id] if match else None


def levels_of(run: EscalationRun) -> list[Level]:
    return [level_of(index, raw) for index, raw in enumerate(run.snapshot)]


def ticket_times(ticket: Ticket) -> TicketTimes:
    latest: dict[str, Clock] = {}
    for clock in Clock.objects.filter(ticket=ticket).order_by("metric", "cycle"):
        latest[clock.metric] = clock
    return TicketTimes(
        created_at=ticket.created_at,
        is_solved=ticket.status in (Status.SOLVED, Status.CLOSED),
        last_customer_message_at=ticket.last_customer_message_at,
        last_agent_reply_at=ticket.last_agent_reply_at,
        clocks={
            metric: ClockTimes(
                warn_instant=clock.warned_at or clock.warn_at,
                due_instant=clock.breached_at or clock.due_at,
                is_paused=clock.state == ClockState.PAUSED,
                is_fulfilled=clock.state == ClockState.FULFILLED,
                cycle=clock.cycle,
            )
            for metric, clock in latest.items()
        },
    )


def _business_calendar(ticket: Ticket, now: datetime) -> Any:
    binding = TicketPolicy.objects.filter(ticket=ticket).select_related("policy__calendar").first()
    if binding is None or binding.policy is None:
        return WALL
    return sla_adapters.calendar_to_core(calendar_for(binding.policy, ticket), now=now)


def _start(ticket: Ticket, ladder: Ladder, now: datetime) -> EscalationRun:
    return EscalationRun.objects.create(
        ticket=ticket,
        ladder=ladder,
        ladder_name=ladder.name,
        ladder_version=ladder.version,
        snapshot=ladder.levels,
        started_at=now,
    )


def _stop(run: EscalationRun, now: datetime) -> None:
    run.state, run.stopped_at = RunState.STOPPED, now
    run.save(update_fields=["state", "stopped_at"])
    EscalationStep.objects.filter(run=run, state=StepState.PENDING).update(
        state=StepState.CANCELLED, due_at=None, fence=F("fence") + 1
    )


@transaction.atomic
def run_sync(*, ticket: Ticket, now: datetime) -> EscalationRun | None:
    """Start, switch or stop the ticket's ladder run, and reschedule its pending steps."""
    ladder = ladder_for(ticket)
    run = EscalationRun.objects.select_for_update().filter(ticket=ticket, state=RunState.RUNNING).first()
    if run is not None and (ladder is None or run.ladder_id != ladder.pk):
        _stop(run, now)
        run = None
    if run is None:
        if ladder is None:
            return None
        run = _start(ticket, ladder, now)
    _reschedule(run, ticket, now)
    return run


def _reschedule(run: EscalationRun, ticket: Ticket, now: datetime) -> None:
    """Move each level's pending steps to when its trigger now says. A level fires once per
    occurrence of its trigger (a next_response cycle, an unanswered customer message): when a
    new occurrence begins, the old one's pending steps are cancelled and the new one's first
    step is scheduled, even if the level fired for the old one."""
    wake_workers()
    times = ticket_times(ticket)
    business = _business_calendar(ticket, now)
    steps = list(EscalationStep.objects.select_for_update().filter(run=run))
    for level in levels_of(run):
        due = level_due(level, times, business=business, wall=WALL)
        occurrence = level_occurrence(level, times)
        mine = [s for s in steps if s.level == level.index]
        if occurrence is not None:
            for step in mine:
                if step.occurrence == UNKNOWN_OCCURRENCE:  # written before occurrences: the current one
                    step.occurrence = occurrence
                    step.save(update_fields=["occurrence"])
                elif step.occurrence != occurrence and step.state == StepState.PENDING:  # that occurrence is over
                    _move(step, state=StepState.CANCELLED, due_at=None)
            mine = [s for s in mine if s.occurrence == occurrence]
            if not any(s.cycle == 1 for s in mine):
                if due is not None:
                    EscalationStep.objects.create(run=run, level=level.index, occurrence=occurrence, cycle=1, due_at=due)
                continue
        for step in mine:
            if step.state != StepState.PENDING:
                continue
            # The first firing follows the trigger; repeats keep their own times unless the
            # trigger went away (fulfilled, solved, paused), which holds them too.
            new_due = due if step.cycle == 1 else (step.due_at if due is not None else None)
            if step.cycle > 1 and step.due_at is None and due is not None:
                new_due = now
            if new_due != step.due_at:
                _move(step, state=StepState.PENDING, due_at=new_due)


def _move(step: EscalationStep, *, state: StepState, due_at: datetime | None) -> None:
    """Reschedule (or cancel) a step; a worker's claim on its old instant is void."""
    step.state, step.due_at = state, due_at
    step.fence += 1
    step.claimed_until = None
    step.save(update_fields=["state", "due_at", "fence", "claimed_until"])


@transaction.atomic
def runs_follow_moved_times(*, now: datetime, limit: int = 20) -> int:
    """Reschedule the ladder steps of up to `limit` tickets whose SLA times a calendar edit
    moved (`sla.TimesMoved`), and forget them. Workers take disjoint marks (PostgreSQL
    `SKIP LOCKED`). Returns how many marks it took."""
    marks = list(TimesMoved.objects.select_for_update(skip_locked=True).order_by("id").values_list("id", "ticket_id")[:limit])
    if not marks:
        return 0
    tickets = Ticket.objects.in_bulk({ticket_id for _, ticket_id in marks})
    running = EscalationRun.objects.select_for_update().filter(ticket_id__in=tickets, state=RunState.RUNNING).order_by("id")
    for run in running:
        _reschedule(run, tickets[run.ticket_id], now)
    TimesMoved.objects.filter(pk__in=[pk for pk, _ in marks]).delete()
    return len(marks)


@transaction.atomic
def run_acknowledge(*, ticket: Ticket, level: int | None, now: datetime) -> list[int]:
    """Someone took it: stop the repeats of the level (or of every fired level). The ladder goes on."""
    run = EscalationRun.objects.filter(ticket=ticket, state=RunState.RUNNING).first()
    if run is None:
        raise Conflict("No escalation ladder is running on this ticket.")
    fired = EscalationStep.objects.filter(run=run, state=StepState.FIRED)
    if level is not None:
        if not 0 <= level < len(run.snapshot):
            raise ValidationFailed.one("level", f"The ladder has levels 1 to {len(run.snapshot)}.")
        fired = fired.filter(level=level)
    levels = sorted(set(fired.values_list("level", flat=True)))
    if not levels:
        raise Conflict("Nothing has fired yet to acknowledge.")
    # The occurrences that fired; a new occurrence still to fire is a new call for attention.
    EscalationStep.objects.filter(run=run, level__in=levels, cycle=1, state=StepState.FIRED).update(acknowledged_at=now)
    EscalationStep.objects.filter(run=run, level__in=levels, state=StepState.PENDING, cycle__gt=1).update(
        state=StepState.CANCELLED, due_at=None, fence=F("fence") + 1
    )
    return levels


@transaction.atomic
def run_reapply(*, ticket: Ticket, now: datetime) -> EscalationRun:
    """Move a running escalation onto its ladder's current levels; levels already fired stay fired."""
    run = (
        EscalationRun.objects.select_for_update(of=("self",))
        .filter(ticket=ticket, state=RunState.RUNNING)
        .select_related("ladder")
        .first()
    )
    if run is None or run.ladder is None:
        raise Conflict("No escalation ladder is running on this ticket.")
    before = {"version": run.ladder_version, "levels": len(run.snapshot)}
    run.snapshot, run.ladder_version = run.ladder.levels, run.ladder.version
    run.save(update_fields=["snapshot", "ladder_version"])
    EscalationStep.objects.filter(run=run, state=StepState.PENDING, level__gte=len(run.snapshot)).update(
        state=StepState.CANCELLED, due_at=None, fence=F("fence") + 1
    )
    _reschedule(run, ticket, now)
    event_record(
        subject_type="ticket",
        subject_id=ticket.pk,
        kind="escalation.reapplied",
        actor=None,
        occurred_at=now,
        before=before,
        after={"version": run.ladder_version, "levels": len(run.snapshot)},
    )
    return run
