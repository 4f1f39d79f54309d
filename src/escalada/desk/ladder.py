"""The escalation timer: fires due ladder steps, exactly once, with their actions.

`escalation_fire_due` reads the due steps' ids and fences (an indexed range), then handles each
in one short transaction: lock the step (PostgreSQL `SKIP LOCKED`; SQLite's IMMEDIATE
transactions take turns), check its fence, mark it fired, apply the level's actions through the
desk verbs, record `escalation.level_fired` (with the due and the fire instant) and queue the
outbox rows — all committed together. The (run, level, cycle) constraint and the fence make a
second firing impossible however many workers run.

A step overdue by more than `ESCALADA_LATE_CUTOFF_MINUTES` (24 h) — after downtime — fires once,
marked late; its repeats start from now instead of replaying every missed one.

A storm (thousands of steps due at one instant) is mostly levels that only notify: those steps
of a batch fire together, set-wise (`_fire_notifying`): one UPDATE marks fired those whose fence
still holds, one query reads their tickets, the outbox rows go in one INSERT and the events in a
few statements (`event_record_many`) — the same rows, hashes and guarantees as one by one. Steps
whose level changes the ticket fire one by one, each in its own savepoint, so a broken step holds
none of the others; if the set-wise path fails, its steps fire one by one instead.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction

from escalada.accounts.models import Team
from escalada.audit.services import EventDraft, event_record, event_record_many
from escalada.base.errors import Conflict, ServiceError
from escalada.desk import escalate as escalating
from escalada.desk import ladder_batch, verbs
from escalada.escalations import records
from escalada.escalations.models import EscalationRun, EscalationStep, EscalationType, StepState
from escalada.escalations.runs import levels_of
from escalada.notifications import internal
from escalada.notifications import services as notifications
from escalada.notifications.batching import outbox_batch
from escalada.tickets import services as tickets
from escalada.tickets.models import Priority, Ticket

logger = logging.getLogger("escalada.ladder")

PRIORITY_UP = {
    Priority.LOW: Priority.NORMAL,
    Priority.NORMAL: Priority.HIGH,
    Priority.HIGH: Priority.URGENT,
    Priority.URGENT: Priority.URGENT,
}


CLAIM_BATCH = 200
# Actions that only tell people and systems: they change no ticket, so a level made of them
# fires set-wise, and a repeat (which only notifies) always does.
NOTIFYING = frozenset({"notify", "notify_customer", "webhook"})
CLAIM_LEASE = timedelta(seconds=30)


def _claim(now: datetime, limit: int) -> list[tuple[int, int]]:
    """Claim up to `limit` due steps for this worker in one statement: other workers skip them
    (PostgreSQL `SKIP LOCKED`; SQLite's IMMEDIATE transaction takes its turn) until the lease ends,
    so a worker that dies leaves them to the others. Returns (id, fence) pairs."""
    table = EscalationStep._meta.db_table
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    moment = connection.ops.adapt_datetimefield_value
    sql = (
        f"UPDATE {table} SET claimed_until = %s, fence = fence + 1 WHERE id IN ("  # noqa: S608 - names from the model
        f"SELECT id FROM {table} WHERE state = 'pending' AND due_at <= %s AND (claimed_until IS NULL OR claimed_until <= %s) "
        f"ORDER BY due_at LIMIT %s{skip_locked}) RETURNING id, fence"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [moment(now + CLAIM_LEASE), moment(now), moment(now), limit])
        return [(int(pk), int(fence)) for pk, fence in cursor.fetchall()]


def escalation_fire_due(*, now: datetime, limit: int = CLAIM_BATCH) -> int:
    """Claim due steps in batches and fire each batch in one transaction. One batch per call by
    default: the worker comes straight back while steps are due, with a fresh `now`, so each
    step's fire instant stays true to when it fired."""
    fired = 0
    while fired < limit:
        claimed = _claim(now, min(CLAIM_BATCH, limit - fired))
        if not claimed:
            break
        fired += _fire_batch(claimed, now=now)
        if len(claimed) < CLAIM_BATCH:
            break
    return fired


@transaction.atomic
def _fire_batch(claimed: list[tuple[int, int]], *, now: datetime) -> int:
    steps = ladder_batch.steps_load(claimed)  # a step missing here was rescheduled since: nothing to do
    notifying = [step for step in steps if _only_notifies(step, now=now)]
    together = {step.pk for step in notifying}
    one_by_one = [(step.pk, step.fence) for step in steps if step.pk not in together]
    fired = 0
    if notifying:
        try:
            with transaction.atomic():
                fired += _fire_notifying(notifying, now=now)
        except Exception:  # e.g. a stream head another writer created meanwhile: retry each step alone
            logger.exception("%d notification steps failed together; firing them one by one", len(notifying))
            one_by_one = [(step.pk, step.fence) for step in steps]
    for pk, fence in one_by_one:
        try:
            with transaction.atomic():
                fired += _fire_one(pk=pk, fence=fence, now=now)
        except Exception:  # one broken step must not hold the others; its lease ends and it is retried
            logger.exception("escalation step %s failed", pk)
    return fired


def _only_notifies(step: EscalationStep, *, now: datetime) -> bool:
    """Whether `step` fires now with notifications only (everything else goes one by one)."""
    if step.due_at is None or step.due_at > now:
        return False
    try:
        levels = levels_of(step.run)
    except Exception:  # a snapshot we cannot read: it fails alone, in its own savepoint
        return False
    if step.level >= len(levels):
        return False
    return step.cycle > 1 or all(action.get("type") in NOTIFYING for action in levels[step.level].actions)


def _fire_notifying(steps: list[EscalationStep], *, now: datetime) -> int:
    """Fire steps whose levels only notify, together; see the module's docstring."""
    cutoff = timedelta(minutes=settings.ESCALADA_LATE_CUTOFF_MINUTES)
    marked = ladder_batch.steps_mark_fired(steps, now=now, late_before=now - cutoff)
    steps = [step for step in steps if step.pk in marked]
    tickets = Ticket.objects.select_related("requester", "team", "assignee").in_bulk({step.run.ticket_id for step in steps})
    drafts: list[EventDraft] = []
    repeating: list[tuple[EscalationStep, timedelta]] = []
    with outbox_batch():
        for step in steps:
            assert step.due_at is not None  # `_only_notifies` let only due steps through
            level = levels_of(step.run)[step.level]
            ticket = tickets[step.run.ticket_id]
            done = _apply(level.actions, ticket=ticket, level=step.level, is_repeat=step.cycle > 1, now=now)
            after = _fired(step.run, step, due_at=step.due_at, is_late=now - step.due_at > cutoff, done=done, now=now)
            drafts.append(EventDraft(subject_type="ticket", subject_id=ticket.pk, kind="escalation.level_fired", after=after))
            if level.repeat_every:
                repeating.append((step, level.repeat_every))
    event_record_many(drafts=drafts, actor=None, occurred_at=now)
    ladder_batch.repeats_schedule(repeating, now=now)
    return len(steps)


def _fired(
    run: EscalationRun, step: EscalationStep, *, due_at: datetime, is_late: bool, done: list[str], now: datetime
) -> dict[str, Any]:
    """What `escalation.level_fired` records."""
    return {
        "ladder": run.ladder_name,
        "level": step.level + 1,
        "cycle": step.cycle,
        "due_at": due_at,
        "fired_at": now.astimezone(UTC),
        "late": is_late,
        "actions": done,
    }


def _fire_one(*, pk: int, fence: int, now: datetime) -> int:
    # The fence is the one our claim set: a reschedule since then moved it, and we do nothing.
    step = EscalationStep.objects.filter(pk=pk, fence=fence, state=StepState.PENDING).select_related("run").first()
    if step is None or step.due_at is None or step.due_at > now:
        return 0
    run = step.run
    levels = levels_of(run)
    if step.level >= len(levels):
        EscalationStep.objects.filter(pk=pk, fence=fence).update(state=StepState.CANCELLED, fence=fence + 1)
        return 0
    level = levels[step.level]
    cutoff = timedelta(minutes=settings.ESCALADA_LATE_CUTOFF_MINUTES)
    is_late = now - step.due_at > cutoff
    if (
        EscalationStep.objects.filter(pk=pk, fence=fence).update(
            state=StepState.FIRED, fired_at=now, is_late=is_late, fence=fence + 1
        )
        != 1
    ):
        return 0
    ticket = Ticket.objects.select_related("requester", "team", "assignee").get(pk=run.ticket_id)
    is_repeat = step.cycle > 1
    done = _apply(level.actions, ticket=ticket, level=step.level, is_repeat=is_repeat, now=now)
    event_record(
        subject_type="ticket",
        subject_id=ticket.pk,
        kind="escalation.level_fired",
        actor=None,
        occurred_at=now,
        after=_fired(run, step, due_at=step.due_at, is_late=is_late, done=done, now=now),
    )
    first = step if step.cycle == 1 else EscalationStep.objects.filter(run=run, level=step.level, cycle=1).first()
    if level.repeat_every and (first is None or first.acknowledged_at is None):
        next_due = step.due_at + level.repeat_every
        if next_due <= now:  # late: repeat from now, do not replay what was missed
            next_due = now + level.repeat_every
        try:
            with transaction.atomic():
                EscalationStep.objects.create(run=run, level=step.level, cycle=step.cycle + 1, due_at=next_due)
        except IntegrityError:
            pass  # already scheduled
    return 1


def _apply(actions: tuple[Any, ...], *, ticket: Ticket, level: int, is_repeat: bool, now: datetime) -> list[str]:
    """Apply a level's actions; a repeat only notifies. Returns what was done, in words."""
    done: list[str] = []
    for action in actions:
        kind = action.get("type")
        if is_repeat and kind not in ("notify", "notify_customer", "webhook"):
            continue
        try:
            done.append(_apply_one(action, ticket=ticket, level=level, now=now))
            if kind not in NOTIFYING:  # the next action sees what this one changed
                ticket.refresh_from_db()
        except ServiceError as exc:  # e.g. the team was deleted since the ladder was frozen
            done.append(f"{kind} skipped: {exc.message}")
    return done


def _apply_one(action: dict[str, Any], *, ticket: Ticket, level: int, now: datetime) -> str:
    kind = action["type"]
    if kind == "assign_team":
        team = Team.objects.get(pk=action["team_id"])
        verbs.ticket_assign(ticket=ticket, team=team, assignee=None, actor=None, now=now)
        return f"assigned to team {team.name}"
    if kind == "assign_user":
        user = User.objects.get(pk=action["user_id"])
        verbs.ticket_assign(ticket=ticket, team=ticket.team, assignee=user, actor=None, now=now)
        return f"assigned to {user.get_username()}"
    if kind == "assign_escalation_manager":
        manager = records.escalation_manager_of(ticket.team)
        if manager is None:
            return "assign_escalation_manager skipped: there is no escalation manager"
        verbs.ticket_assign(ticket=ticket, team=ticket.team, assignee=manager, actor=None, now=now)
        return f"assigned to escalation manager {manager.get_username()}"
    if kind in ("raise_priority", "set_priority"):
        priority = PRIORITY_UP[Priority(ticket.priority)] if kind == "raise_priority" else action["priority"]
        verbs.ticket_update(ticket=ticket, changes={"priority": priority}, actor=None, now=now)
        return f"priority {priority}"
    if kind in ("raise_tier", "set_tier"):
        top = ticket.team.tier_count if ticket.team else 9
        tier = min(ticket.tier + 1, top) if kind == "raise_tier" else min(int(action["tier"]), top)
        tickets.ticket_set_tier(ticket=ticket, tier=tier, actor=None, now=now)
        return f"tier L{tier}"
    if kind == "add_tags":
        tags = sorted({*ticket.tags.values_list("name", flat=True), *action["tags"]})
        verbs.ticket_update(ticket=ticket, changes={"tags": tags}, actor=None, now=now)
        return f"tags {', '.join(action['tags'])}"
    if kind == "notify":
        count = internal.escalation_notify(
            ticket=ticket,
            level=level,
            roles=action.get("to", []),
            user_ids=action.get("user_ids", []),
            emails=action.get("emails", []),
            now=now,
        )
        return f"notified {count}"
    if kind == "notify_customer":
        notifications.customer_notify_escalated(ticket=ticket, level=level, now=now)
        return "told the customer"
    if kind == "escalate":
        request = escalating.EscalateRequest(
            reason=action.get("reason", "sla-breach"),
            handoff_note=f"Level {level + 1} of the escalation ladder fired.",
            level=action.get("level"),
        )
        try:
            escalation = escalating.escalate(ticket=ticket, actor=None, request=request, type=EscalationType.AUTOMATIC, now=now)
        except Conflict as exc:  # at the top of its path already
            return f"escalate skipped: {exc.message}"
        return f"escalation {escalation.pk} at L{escalation.level}"
    if kind == "add_contributors":
        active = records.escalation_active_for(ticket=ticket)
        if active is None:
            return "add_contributors skipped: no escalation is open"
        people = User.objects.filter(pk__in=action["user_ids"], is_active=True)
        for person in people:
            records.contributor_add(escalation=active, user=person, role=action.get("role", ""), actor=None, now=now)
        return f"contributors {', '.join(sorted(p.get_username() for p in people))}"
    if kind == "webhook":
        internal.announce(
            kind="escalation.level_fired", ticket=ticket, data={**notifications.ticket_data(ticket), "level": level + 1}, now=now
        )
        return "webhook"
    return f"{kind} skipped: unknown action"
