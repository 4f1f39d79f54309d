"""The SLA clocks of tickets: started, paused, resumed, fulfilled and re-targeted by what happens
to the ticket (the desk verbs call these after the ticket's own service), warned and breached
by the timer worker.

Rules:

- first_response starts at creation; the first public agent reply fulfils it. Internal notes
  and customer messages never fulfil a response metric.
- next_response starts when a customer message arrives after a public agent reply and the
  next public agent reply fulfils it; each turn is a new cycle, one runs at a time.
- resolution starts at creation, pauses in the policy's pause statuses, is fulfilled when the
  ticket is solved and, when it is reopened, counts on with the time it had used.
- Solving a ticket fulfils every clock still counting (the request is answered).
- A change to anything a policy condition reads re-matches the policy and re-applies targets
  from each clock's original start.

Each public function records at most one Event on the ticket's stream (none when nothing
changed). Clock rows are locked before they are read, so the worker and a desk verb touching the
same clock take turns; every write bumps the clock's fence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction

from escalada.audit.services import event_record
from escalada.base.wake import wake_workers
from escalada.core import sla as core
from escalada.core.matching import Match, match_policy
from escalada.core.sla import Calendar as CoreCalendar
from escalada.notifications import internal
from escalada.sla import adapters
from escalada.sla.models import (
    Calendar,
    Clock,
    ClockState,
    HoursSource,
    Metric,
    OrganizationCalendar,
    Policy,
    Target,
    TeamCalendar,
    TicketPolicy,
)
from escalada.sla.services import DEFAULT_PAUSE_STATUSES
from escalada.tickets.models import Status, Ticket

DONE_STATUSES = (Status.SOLVED, Status.CLOSED)


@dataclass(frozen=True)
class Applied:
    """The policy a ticket is on, its calendar, and its targets for the ticket's priority."""

    policy: Policy | None
    match: Match | None
    calendar: Calendar | None
    targets: dict[str, Target]

    @property
    def pause_statuses(self) -> dict[str, list[str]]:
        if self.policy is None:
            return DEFAULT_PAUSE_STATUSES
        return {**DEFAULT_PAUSE_STATUSES, **self.policy.pause_statuses}


def policy_match(ticket: Ticket) -> tuple[Policy | None, Match | None]:
    """The active policy that matches the ticket now, with the reason."""
    policies = {p.pk: p for p in Policy.objects.filter(is_active=True)}
    match = match_policy([adapters.policy_rule(p) for p in policies.values()], adapters.ticket_facts(ticket))
    return (policies[match.policy_id], match) if match else (None, None)


def calendar_for(policy: Policy, ticket: Ticket) -> Calendar | None:
    """The calendar a policy counts in for this ticket (None: calendar time)."""
    if not policy.is_business_time:
        return None
    if policy.hours_source == HoursSource.ORGANIZATION and ticket.organization_id is not None:
        link = OrganizationCalendar.objects.select_related("calendar").filter(organization_id=ticket.organization_id).first()
        if link is not None:
            return link.calendar
    if policy.hours_source == HoursSource.TEAM and ticket.team_id is not None:
        team_link = TeamCalendar.objects.select_related("calendar").filter(team_id=ticket.team_id).first()
        if team_link is not None:
            return team_link.calendar
    return policy.calendar


def _applied(ticket: Ticket) -> Applied:
    policy, match = policy_match(ticket)
    if policy is None:
        return Applied(policy=None, match=None, calendar=None, targets={})
    targets = {t.metric: t for t in Target.objects.filter(policy=policy, priority=ticket.priority)}
    return Applied(policy=policy, match=match, calendar=calendar_for(policy, ticket), targets=targets)


def _bound(ticket: Ticket) -> Applied:
    """The policy the ticket is on already (not re-matched)."""
    binding = TicketPolicy.objects.select_related("policy__calendar").filter(ticket=ticket).first()
    policy = binding.policy if binding else None
    if policy is None:
        return Applied(policy=None, match=None, calendar=None, targets={})
    targets = {t.metric: t for t in Target.objects.filter(policy=policy, priority=ticket.priority)}
    return Applied(policy=policy, match=None, calendar=calendar_for(policy, ticket), targets=targets)


def _locked_clocks(ticket: Ticket) -> list[Clock]:
    return list(
        Clock.objects.select_for_update(of=("self",)).select_related("calendar").filter(ticket=ticket).order_by("metric", "cycle")
    )


def _latest(rows: list[Clock], metric: str) -> Clock | None:
    found = [row for row in rows if row.metric == metric]
    return found[-1] if found else None


def _view(row: Clock) -> dict[str, Any]:
    return {"state": row.state, "due_at": row.due_at, "target_minutes": row.target_us / 60_000_000}


def _label(row: Clock) -> str:
    return f"{row.metric}#{row.cycle}"


class _Changes:
    """Collects clock rows before and after, writes them, and describes the difference."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.before: dict[str, Any] = {}
        self.after: dict[str, Any] = {}
        self.dirty: dict[str, Clock] = {}
        self.timer_events: list[tuple[Clock, str, dict[str, Any]]] = []

    def update(self, row: Clock, step: Callable[[core.Clock, CoreCalendar], core.Clock]) -> None:
        original = adapters.clock_to_core(row)
        # A warning or breach whose instant has passed but which no worker has fired yet is
        # fired first, so a pause or a reply never hides it (the fence keeps it single).
        clock, fired = timer_decisions(original, now=self.now)
        self.timer_events += [(row, kind, data) for kind, data in fired]
        updated = step(clock, adapters.calendar_to_core(row.calendar, now=self.now))
        if updated == original:
            return
        label = _label(row)
        self.before.setdefault(label, _view(row))
        adapters.clock_copy(row, updated)
        self.after[label] = _view(row)
        self.dirty[label] = row

    def add(self, row: Clock) -> None:
        label = _label(row)
        self.before.setdefault(label, None)
        self.after[label] = _view(row)
        self.dirty[label] = row

    def save(self) -> None:
        if self.dirty:
            wake_workers()
        for row in self.dirty.values():
            if row.pk is None:
                row.save()
            else:
                row.save(update_fields=adapters.CLOCK_FIELDS)
        for row, kind, data in self.timer_events:
            _timer_event(row, kind, data, now=self.now)

    @property
    def changed(self) -> bool:
        return bool(self.dirty)


def _new_clock(
    *, ticket: Ticket, applied: Applied, metric: str, started_at: datetime, cycle: int, changes: _Changes
) -> Clock | None:
    """A clock counting from `started_at` (now, or earlier when a re-match adds a metric): its
    warning and breach, when already due by now, are fired (dated at their instants) before it
    is paused for the ticket's status."""
    target = applied.targets.get(metric)
    if target is None:
        return None
    now = changes.now
    calendar = adapters.calendar_to_core(applied.calendar, now=now)
    clock = core.clock_start(
        metric=core.Metric(metric),
        target=adapters.target_duration(target),
        warning=adapters.warning_of(target),
        calendar=calendar,
        now=started_at,
    )
    row = Clock(ticket=ticket, metric=metric, cycle=cycle, policy=applied.policy, calendar=applied.calendar, fence=0)
    clock, fired = timer_decisions(clock, now=now)
    changes.timer_events += [(row, kind, data) for kind, data in fired]
    if ticket.status in applied.pause_statuses.get(metric, []):
        clock = core.clock_pause(clock, calendar=calendar, now=now)
    adapters.clock_copy(row, clock)
    changes.add(row)
    return row


def _bind(ticket: Ticket, applied: Applied, now: datetime) -> None:
    TicketPolicy.objects.update_or_create(
        ticket=ticket,
        defaults={
            "policy": applied.policy,
            "policy_name": applied.policy.name if applied.policy else "",
            "reason": applied.match.reason if applied.match else "",
            "matched_at": now,
        },
    )


@transaction.atomic
def ticket_sla_start(*, ticket: Ticket, actor: User | None, now: datetime) -> list[Clock]:
    """Match a new ticket's policy and start first_response and resolution."""
    applied = _applied(ticket)
    _bind(ticket, applied, now)
    if applied.policy is None:
        return []
    changes = _Changes(now)
    for metric in (Metric.FIRST_RESPONSE, Metric.RESOLUTION):
        _new_clock(ticket=ticket, applied=applied, metric=metric, started_at=ticket.created_at, cycle=1, changes=changes)
    changes.save()
    assert applied.match is not None
    event_record(
        subject_type="ticket",
        subject_id=ticket.pk,
        kind="sla.policy_applied",
        actor=actor,
        occurred_at=now,
        before={},
        after={
            "policy_id": applied.policy.pk,
            "policy": applied.policy.name,
            "reason": applied.match.reason,
            "clocks": changes.after,
        },
    )
    return list(changes.dirty.values())


@transaction.atomic
def ticket_sla_sync(
    *,
    ticket: Ticket,
    before_status: str,
    message_by: str | None,
    actor: User | None,
    now: datetime,
) -> None:
    """Bring the clocks in line with what just happened to the ticket: a public message by the
    `customer` or an `agent` (None for none or an internal note) and/or a status change."""
    rows = _locked_clocks(ticket)
    applied = _bound(ticket)
    changes = _Changes(now)
    status = ticket.status

    if message_by == "agent":
        for metric in (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE):
            row = _latest(rows, metric)
            if row is not None:
                changes.update(row, lambda c, cal: core.clock_fulfill(c, calendar=cal, now=now))

    was_done, is_done = before_status in DONE_STATUSES, status in DONE_STATUSES
    if is_done and not was_done:
        for row in rows:
            changes.update(row, lambda c, cal: core.clock_fulfill(c, calendar=cal, now=now))
    elif was_done and not is_done:
        row = _latest(rows, Metric.RESOLUTION)
        if row is not None:
            changes.update(row, lambda c, cal: core.clock_reopen(c, calendar=cal, now=now))

    if not is_done:
        for row in rows:
            if row.state == ClockState.FULFILLED:
                continue
            pauses = status in applied.pause_statuses.get(row.metric, [])
            if pauses:
                changes.update(row, lambda c, cal: core.clock_pause(c, calendar=cal, now=now))
            else:
                changes.update(row, lambda c, cal: core.clock_resume(c, calendar=cal, now=now))

    if message_by == "customer" and not is_done and ticket.last_agent_reply_at is not None:
        current = _latest(rows, Metric.NEXT_RESPONSE)
        if current is None or current.state == ClockState.FULFILLED:
            cycle = current.cycle + 1 if current else 1
            _new_clock(ticket=ticket, applied=applied, metric=Metric.NEXT_RESPONSE, started_at=now, cycle=cycle, changes=changes)

    if not changes.changed:
        return
    changes.save()
    event_record(
        subject_type="ticket",
        subject_id=ticket.pk,
        kind="sla.clocks_updated",
        actor=actor,
        occurred_at=now,
        before=changes.before,
        after=changes.after,
    )


@transaction.atomic
def ticket_sla_rematch(*, ticket: Ticket, actor: User | None, now: datetime) -> None:
    """Something a policy condition reads changed: match again and re-apply the targets from each
    clock's original start. Clocks without a target under the new policy stop (they are removed,
    and the Event keeps what they were); metrics that gain a target start as if from their start."""
    binding = TicketPolicy.objects.filter(ticket=ticket).first()
    applied = _applied(ticket)
    rows = _locked_clocks(ticket)
    changes = _Changes(now)
    policy_before = (binding.policy_id, binding.reason) if binding else (None, "")
    policy_after = (applied.policy.pk if applied.policy else None, applied.match.reason if applied.match else "")
    removed: list[Clock] = []
    if ticket.status not in DONE_STATUSES:
        for row in rows:
            if row.state == ClockState.FULFILLED:
                continue
            target = applied.targets.get(row.metric)
            if target is None:
                changes.before[_label(row)] = _view(row)
                changes.after[_label(row)] = None
                removed.append(row)
                continue
            # What was due under the old target is recorded first, whatever the worker's timing.
            caught_up, fired = timer_decisions(adapters.clock_to_core(row), now=now)
            if fired:
                changes.before.setdefault(_label(row), _view(row))
                changes.timer_events += [(row, kind, data) for kind, data in fired]
                adapters.clock_copy(row, caught_up)
                changes.after[_label(row)] = _view(row)
                changes.dirty[_label(row)] = row
            moved = _retarget(row, target=target, applied=applied, now=now)
            if moved is not None:
                changes.before.setdefault(_label(row), _view(row))
                if moved.state == core.ClockState.BREACHED and row.state != ClockState.BREACHED:
                    # The new target was used up already: breached at the instant it ran out.
                    changes.timer_events.append((row, "sla.breached", {"due_at": moved.breached_at}))
                adapters.clock_copy(row, moved)
                row.calendar = applied.calendar
                row.policy = applied.policy
                changes.after[_label(row)] = _view(row)
                changes.dirty[_label(row)] = row
        kept = [row for row in rows if row not in removed]
        _start_missing(ticket=ticket, rows=kept, applied=applied, changes=changes)
    if policy_before == policy_after and not changes.after:
        return
    _bind(ticket, applied, now)
    for row in removed:
        row.delete()
    for row in changes.dirty.values():
        if row.pk is None:
            row.save()
        else:
            row.save(update_fields=[*adapters.CLOCK_FIELDS, "calendar", "policy"])
    for row, kind, data in changes.timer_events:
        _timer_event(row, kind, data, now=now)
    wake_workers()
    event_record(
        subject_type="ticket",
        subject_id=ticket.pk,
        kind="sla.policy_applied",
        actor=actor,
        occurred_at=now,
        before={"policy_id": policy_before[0], "reason": policy_before[1], "clocks": changes.before},
        after={
            "policy_id": policy_after[0],
            "policy": applied.policy.name if applied.policy else None,
            "reason": policy_after[1],
            "clocks": changes.after,
        },
    )


def _retarget(row: Clock, *, target: Target, applied: Applied, now: datetime) -> core.Clock | None:
    """The clock under its new target and calendar, or None when neither changed."""
    new_target_us = target.minutes * 60_000_000
    warning = adapters.warning_of(target)
    clock = adapters.clock_to_core(row)
    warn_after = warning.consumed_at_warning(adapters.target_duration(target)) if warning else None
    same_warning = (warn_after is None and row.warn_after_us is None) or (
        warn_after is not None and row.warn_after_us == round(warn_after.total_seconds() * 1_000_000)
    )
    if row.target_us == new_target_us and row.calendar_id == (applied.calendar.pk if applied.calendar else None) and same_warning:
        return None
    calendar = adapters.calendar_to_core(applied.calendar, now=now)
    return core.clock_retarget(clock, target=adapters.target_duration(target), warning=warning, calendar=calendar, now=now)


def _start_missing(*, ticket: Ticket, rows: list[Clock], applied: Applied, changes: _Changes) -> None:
    """Metrics the new policy has a target for but that have no clock counting for them."""
    starts: list[tuple[str, datetime, int]] = []
    if _latest(rows, Metric.RESOLUTION) is None:
        starts.append((Metric.RESOLUTION, ticket.created_at, 1))
    if _latest(rows, Metric.FIRST_RESPONSE) is None and ticket.last_agent_reply_at is None:
        starts.append((Metric.FIRST_RESPONSE, ticket.created_at, 1))
    customer_waits = (
        ticket.last_agent_reply_at is not None
        and ticket.last_customer_message_at is not None
        and ticket.last_customer_message_at > ticket.last_agent_reply_at
    )
    latest_next = _latest(rows, Metric.NEXT_RESPONSE)
    if customer_waits and (latest_next is None or latest_next.state == ClockState.FULFILLED):
        assert ticket.last_customer_message_at is not None
        starts.append((Metric.NEXT_RESPONSE, ticket.last_customer_message_at, latest_next.cycle + 1 if latest_next else 1))
    for metric, started_at, cycle in starts:
        _new_clock(ticket=ticket, applied=applied, metric=metric, started_at=started_at, cycle=cycle, changes=changes)


# --- the timer -----------------------------------------------------------------------------------


def sla_fire_due(*, now: datetime, limit: int = 200) -> int:
    """Warn and breach the clocks whose instant has come; returns how many firings were made.

    Each clock is handled in its own short transaction: lock the row (PostgreSQL skips rows
    another worker holds; SQLite's IMMEDIATE transactions take turns), check the fence still
    matches what was read, apply the core's decision, and write the clock and its Events
    together. A second worker, or one that read a stale row, finds the fence moved and does
    nothing, so each warning and each breach is recorded once.
    """
    due = list(Clock.objects.filter(next_fire_at__lte=now).order_by("next_fire_at").values_list("pk", "fence")[:limit])
    fired = 0
    for pk, fence in due:
        fired += _fire_one(pk=pk, fence=fence, now=now)
    return fired


def timer_decisions(clock: core.Clock, *, now: datetime) -> tuple[core.Clock, list[tuple[str, dict[str, Any]]]]:
    """The clock after the warning and breach due by `now`, and the Events they make."""
    events: list[tuple[str, dict[str, Any]]] = []
    warned = core.clock_warn(clock, now=now)
    if warned is not None:
        clock = warned
        events.append(("sla.warning", {"warn_at": warned.warned_at, "due_at": clock.due_at}))
    breached = core.clock_breach(clock, now=now)
    if breached is not None:
        clock = breached
        events.append(("sla.breached", {"due_at": breached.breached_at}))
    return clock, events


def _timer_event(row: Clock, kind: str, data: dict[str, Any], *, now: datetime) -> None:
    """The warning's or breach's Event, and the webhook calls that announce it."""
    # Instants in UTC, as everywhere in the event log and the webhooks.
    after = {
        "metric": row.metric,
        "cycle": row.cycle,
        **{key: value.astimezone(UTC) if isinstance(value, datetime) else value for key, value in data.items()},
        "fired_at": now.astimezone(UTC),
    }
    event_record(subject_type="ticket", subject_id=row.ticket_id, kind=kind, actor=None, occurred_at=now, after=after)
    payload = {
        key: value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value for key, value in after.items()
    }
    internal.announce(kind=kind, data={"ticket_id": row.ticket_id, **payload}, ticket=row.ticket, now=now)


@transaction.atomic
def _fire_one(*, pk: int, fence: int, now: datetime) -> int:
    query = Clock.objects.filter(pk=pk, fence=fence)
    if connection.features.has_select_for_update_skip_locked:
        query = query.select_for_update(skip_locked=True)
    row = query.first()
    if row is None:
        return 0  # another worker holds it, or it changed since it was read: not ours to fire
    clock, events = timer_decisions(adapters.clock_to_core(row), now=now)
    adapters.clock_copy(row, clock)
    fields = adapters.CLOCK_FIELDS if events else ["next_fire_at", "fence"]
    # Conditional on the fence read above: a stale read writes nothing and records nothing.
    if Clock.objects.filter(pk=pk, fence=fence).update(**{name: getattr(row, name) for name in fields}) != 1:
        return 0
    for kind, data in events:
        _timer_event(row, kind, data, now=now)
    return len(events)
