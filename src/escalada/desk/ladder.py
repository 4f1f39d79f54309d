"""The escalation timer: fires due ladder steps, exactly once, with their actions.

`escalation_fire_due` takes due steps in batches. One statement takes a batch and marks it
fired (PostgreSQL `FOR UPDATE SKIP LOCKED`: other workers skip these rows; SQLite's IMMEDIATE
transactions take turns), and the same transaction applies them, so a step is fired exactly when
its actions, its `escalation.level_fired` event (with the due and the fire instant) and its
outbox rows commit — all together, or none. A worker killed mid-batch rolls back and leaves the
batch to the others; a frozen one is cut off by `ESCALADA_IDLE_TRANSACTION_TIMEOUT_SECONDS`, its
locks go and so does its chance to commit.

A storm (thousands of steps due at one instant) is mostly levels that only notify: those steps
fire together, set-wise (`_fire_notifying`): one query reads their runs, the tickets are read
together and only if an action needs one, the outbox rows go in one INSERT and the events in a
few statements (`event_record_many`) — the same rows, hashes and guarantees as one by one.

Steps whose level changes the ticket go back to pending in the same transaction with a lease
(`claimed_until`) and a new fence, and then fire one by one, each in its own transaction, so a
broken step holds none of the others; it is retried when its lease ends. The fence is the
guard there: a reschedule in between moves it, and the old claim then does nothing. The
(run, level, occurrence, cycle) constraint makes a second firing impossible however many workers run. If
the set-wise path fails, its steps go one by one too.

A step overdue by more than `ESCALADA_LATE_CUTOFF_MINUTES` (24 h) — after downtime — fires once,
marked late; its repeats start from now instead of replaying every missed one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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
from escalada.escalations.models import EscalationStep, EscalationType, StepState
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


# Steps a batch takes. PostgreSQL: 1,000 — three workers drained a 100k storm in 5.6 s at 1,000
# against 8.7 s at 500 (fewer turns, commits and index walks). SQLite has one writer, and a
# batch holds it while it fires: 200 keeps the web's writes waiting tens of milliseconds at most.
CLAIM_BATCH = {"postgresql": 1000}
CLAIM_BATCH_DEFAULT = 200
# Actions that only tell people and systems: they change no ticket, so a level made of them
# fires set-wise, and a repeat (which only notifies) always does.
NOTIFYING = frozenset({"notify", "notify_customer", "webhook"})
CLAIM_LEASE = timedelta(seconds=30)


def _take(now: datetime, limit: int) -> list[ladder_batch.Claimed]:
    """Take up to `limit` due steps in one statement and mark them fired, inside the caller's
    transaction: other workers skip the rows it locked (PostgreSQL `SKIP LOCKED`; SQLite's
    IMMEDIATE transaction takes its turn) until it commits or rolls back. A step due before the
    late cutoff is marked late. Returns them as taken, in due order."""
    table = EscalationStep._meta.db_table
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    moment = connection.ops.adapt_datetimefield_value
    late_before = now - timedelta(minutes=settings.ESCALADA_LATE_CUTOFF_MINUTES)
    sql = (
        f"UPDATE {table} SET state = %s, fired_at = %s, is_late = (due_at < %s), fence = fence + 1 WHERE id IN ("  # noqa: S608 - names from the model
        f"SELECT id FROM {table} WHERE state = %s AND due_at <= %s AND (claimed_until IS NULL OR claimed_until <= %s) "
        f"ORDER BY due_at LIMIT %s{skip_locked}) RETURNING {ladder_batch.CLAIMED_COLUMNS}"
    )
    params = [StepState.FIRED.value, moment(now), moment(late_before), StepState.PENDING.value, moment(now), moment(now), limit]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Walk the due index in order and stop after `limit` rows. Left to itself, the
            # planner — its statistics from before a storm fell due — reads every due row with a
            # bitmap scan and sorts them, for each batch: 25 ms a take in a 100k storm, which made
            # the drain quadratic.
            cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(sql, params)
        taken = cursor.fetchall()
        if connection.vendor == "postgresql":
            cursor.execute("RESET enable_bitmapscan")
        return sorted((ladder_batch.claimed_of(row) for row in taken), key=lambda step: (step.due_at, step.id))


def claim_batch() -> int:
    return CLAIM_BATCH.get(connection.vendor, CLAIM_BATCH_DEFAULT)


def escalation_fire_due(*, now: datetime, limit: int | None = None) -> int:
    """Take due steps in batches and fire each batch in one transaction (then its steps that
    change tickets one by one). One batch per call by default: the worker comes straight back
    while steps are due, with a fresh `now`, so each step's fire instant stays true to when it
    fired."""
    batch = claim_batch()
    limit = batch if limit is None else limit
    fired = 0
    while fired < limit:
        taken, fired_together, one_by_one = _fire_batch(now=now, limit=min(batch, limit - fired))
        fired += fired_together
        for pk, fence in one_by_one:
            try:
                with transaction.atomic():
                    fired += _fire_one(pk=pk, fence=fence, now=now)
            except Exception:  # one broken step must not hold the others; its lease ends and it is retried
                logger.exception("escalation step %s failed", pk)
        if taken < batch:
            break
    return fired


@transaction.atomic
def _fire_batch(*, now: datetime, limit: int) -> tuple[int, int, list[tuple[int, int]]]:
    """Take a batch and fire its notifying steps together; the others go back to pending under
    this worker's lease, to fire one by one. Returns (taken, fired, the others' (id, fence))."""
    taken = _take(now, limit)
    if not taken:
        return 0, 0, []
    runs = ladder_batch.runs_load({step.run_id for step in taken})
    notifying = [step for step in taken if _only_notifies(step, runs.get(step.run_id), now=now)]
    together = {step.id for step in notifying}
    others = [step for step in taken if step.id not in together]
    fired = 0
    if notifying:
        try:
            with transaction.atomic():
                fired = _fire_notifying(notifying, runs, now=now)
        except Exception:  # e.g. a stream head another writer created meanwhile: retry each step alone
            logger.exception("%d notification steps failed together; firing them one by one", len(notifying))
            others = taken
    return len(taken), fired, ladder_batch.steps_release(others, until=now + CLAIM_LEASE)


def _only_notifies(step: ladder_batch.Claimed, run: ladder_batch.RunRow | None, *, now: datetime) -> bool:
    """Whether `step` fires now with notifications only (everything else goes one by one)."""
    if step.due_at is None or step.due_at > now or run is None or run.levels is None or step.level >= len(run.levels):
        return False  # gone, not due, or unreadable: the one-by-one path decides (and fails alone)
    return step.cycle > 1 or all(action.get("type") in NOTIFYING for action in run.levels[step.level].actions)


def _fire_notifying(steps: list[ladder_batch.Claimed], runs: dict[int, ladder_batch.RunRow], *, now: datetime) -> int:
    """Apply the taken steps whose levels only notify, together; see the module's docstring."""
    cutoff = timedelta(minutes=settings.ESCALADA_LATE_CUTOFF_MINUTES)
    drafts: list[EventDraft] = []
    repeating: list[tuple[ladder_batch.Claimed, timedelta]] = []
    with outbox_batch():
        batch_tickets = _BatchTickets({runs[step.run_id].ticket_id for step in steps})
        told = sorted({runs[step.run_id].ticket_id for step in steps if _tells_customer(step, runs[step.run_id])})
        if told:  # the customer mails' threading headers, read for all of them at once
            notifications.thread_headers_preload(told)
        for step in steps:
            assert step.due_at is not None  # `_only_notifies` let only due steps through
            run = runs[step.run_id]
            assert run.levels is not None  # as above
            level = run.levels[step.level]
            done = _apply(
                level.actions, ticket=batch_tickets.lazy(run.ticket_id), level=step.level, is_repeat=step.cycle > 1, now=now
            )
            after = _fired(run.ladder_name, step, due_at=step.due_at, is_late=now - step.due_at > cutoff, done=done, now=now)
            drafts.append(EventDraft(subject_type="ticket", subject_id=run.ticket_id, kind="escalation.level_fired", after=after))
            if level.repeat_every:
                repeating.append((step, level.repeat_every))
    event_record_many(drafts=drafts, actor=None, occurred_at=now)
    ladder_batch.repeats_schedule(repeating, now=now)
    return len(steps)


def _tells_customer(step: ladder_batch.Claimed, run: ladder_batch.RunRow) -> bool:
    assert run.levels is not None  # only notifying steps come here, and those have levels
    return any(action.get("type") == "notify_customer" for action in run.levels[step.level].actions)


class _BatchTickets:
    """The batch's tickets, read together the first time an action needs one (a level whose
    webhook nobody listens to needs none)."""

    def __init__(self, ids: set[int]) -> None:
        self.ids = ids
        self.loaded: dict[int, Ticket] | None = None

    def lazy(self, pk: int) -> Callable[[], Ticket]:
        return lambda: self.get(pk)

    def get(self, pk: int) -> Ticket:
        if self.loaded is None:
            self.loaded = Ticket.objects.select_related("requester", "team", "assignee").in_bulk(self.ids)
        return self.loaded[pk]


def _fired(
    ladder_name: str,
    step: EscalationStep | ladder_batch.Claimed,
    *,
    due_at: datetime,
    is_late: bool,
    done: list[str],
    now: datetime,
) -> dict[str, Any]:
    """What `escalation.level_fired` records."""
    return {
        "ladder": ladder_name,
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
        after=_fired(run.ladder_name, step, due_at=step.due_at, is_late=is_late, done=done, now=now),
    )
    first = (
        step
        if step.cycle == 1
        else EscalationStep.objects.filter(run=run, level=step.level, occurrence=step.occurrence, cycle=1).first()
    )
    if level.repeat_every and (first is None or first.acknowledged_at is None):
        next_due = step.due_at + level.repeat_every
        if next_due <= now:  # late: repeat from now, do not replay what was missed
            next_due = now + level.repeat_every
        try:
            with transaction.atomic():
                EscalationStep.objects.create(
                    run=run, level=step.level, occurrence=step.occurrence, cycle=step.cycle + 1, due_at=next_due
                )
        except IntegrityError:
            pass  # already scheduled
    return 1


def _apply(
    actions: tuple[Any, ...], *, ticket: Ticket | Callable[[], Ticket], level: int, is_repeat: bool, now: datetime
) -> list[str]:
    """Apply a level's actions; a repeat only notifies. Returns what was done, in words. `ticket`
    may be a loader (the storm path): a webhook nobody listens to then reads no ticket."""
    done: list[str] = []
    for action in actions:
        kind = action.get("type")
        if is_repeat and kind not in NOTIFYING:
            continue
        if kind == "webhook" and callable(ticket) and not internal.is_heard("escalation.level_fired"):
            done.append("webhook")
            continue
        current = ticket() if callable(ticket) else ticket
        try:
            done.append(_apply_one(action, ticket=current, level=level, now=now))
            if kind not in NOTIFYING:  # the next action sees what this one changed
                current.refresh_from_db()
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
