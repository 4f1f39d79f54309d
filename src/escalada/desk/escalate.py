"""Escalating a ticket: up the hierarchy, across to another team, back down; resolving with the
root cause and the sign-off; reopening by the customer. Each verb is one transaction that moves
the ticket (team, tier, assignee, status), writes the escalation record and its hop, and queues
what people hear (the customer in customer words, the new owner with the hand-off note,
webhooks and notification rules).

Where the ticket goes when it is escalated up comes from the escalation matrix (decision
category × severity → path); without a cell, the path is the team's tiers L1…Ln and then its
escalation manager.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from escalada.accounts.models import AgentProfile, Team
from escalada.accounts.selectors import user_role
from escalada.base.errors import Conflict, PermissionDenied, ServiceError, ValidationFailed
from escalada.core import escalation as rules
from escalada.desk import verbs
from escalada.escalations import records
from escalada.escalations.models import (
    ApprovalState,
    DecisionCategory,
    Escalation,
    EscalationStatus,
    EscalationType,
    Hop,
    Playbook,
    Reason,
)
from escalada.notifications import internal
from escalada.notifications import services as notifications
from escalada.sla.models import Clock
from escalada.tickets import services as tickets
from escalada.tickets.models import Message, Status, Ticket

logger = logging.getLogger("escalada.escalations")
NOTE_MAX = 20_000
REPEAT_WINDOW = timedelta(minutes=2)  # a second click within this is the same escalation


@dataclass(frozen=True)
class EscalateRequest:
    reason: str  # a Reason's slug
    handoff_note: str
    reason_text: str = ""
    level: int | None = None  # for leads and managers: skip to this level
    to_user: User | None = None  # a named person at the target level
    tags: tuple[str, ...] = ()
    category: str | None = None  # a decision category's slug; default: the ticket category's slug
    risk_likelihood: int | None = None
    risk_impact: int | None = None
    seen_level: int | None = None  # the level the escalating person saw: a repeat click is a no-op


def _reason(slug: str, errors: dict[str, str], *, is_system: bool = False) -> Reason | None:
    # The system's own escalations (reopens, ladders, customer requests) keep working when an
    # admin retires the reason they use; people choose among the active ones.
    rows = Reason.objects.filter(slug=slug) if is_system else Reason.objects.filter(slug=slug, is_active=True)
    reason = rows.first()
    if reason is None:
        names = ", ".join(Reason.objects.filter(is_active=True).values_list("slug", flat=True))
        errors["reason"] = f"Choose a reason: {names}."
    return reason


def _check_note(note: str, errors: dict[str, str], field: str = "handoff_note") -> None:
    if not note.strip():
        errors[field] = "Write the hand-off note: what was tried, what is known, what the next person should do."
    elif len(note) > NOTE_MAX:
        errors[field] = f"At most {NOTE_MAX:,} characters."


def _category(slug: str | None, ticket: Ticket, errors: dict[str, str]) -> DecisionCategory | None:
    if slug:
        found = DecisionCategory.objects.filter(slug=slug, is_active=True).first()
        if found is None:
            names = ", ".join(DecisionCategory.objects.filter(is_active=True).values_list("slug", flat=True))
            errors["category"] = f"Choose a decision category: {names}."
        return found
    if ticket.category is not None:
        return DecisionCategory.objects.filter(slug=ticket.category.slug, is_active=True).first()
    return None


def _current_level(path: tuple[rules.PathLevel, ...], ticket: Ticket) -> int:
    """Where on the path the ticket is before its first escalation: the rung naming its team
    (or any team) and tier, else the first."""
    for index, level in enumerate(path, start=1):
        is_tier = level.role is None and level.user_id is None
        if is_tier and level.team_id in (None, ticket.team_id) and (level.tier or 1) == ticket.tier:
            return index
    return 1


def _agent_in(user: User, team: Team | None) -> bool:
    return team is not None and AgentProfile.objects.filter(user=user, teams=team).exists()


def _is_manager(user: User) -> bool:
    return AgentProfile.objects.filter(user=user, is_escalation_manager=True).exists()


def _first_team(user: User) -> Team | None:
    profile = AgentProfile.objects.filter(user=user).first()
    return profile.teams.order_by("name").first() if profile else None


@dataclass(frozen=True)
class Destination:
    team: Team | None
    tier: int
    assignee: User | None
    words: str


def _destination(level: rules.PathLevel, ticket: Ticket, to_user: User | None) -> Destination:
    team = Team.objects.filter(pk=level.team_id).first() if level.team_id is not None else ticket.team
    is_tier_level = level.role is None and level.user_id is None
    tier = (level.tier or ticket.tier) if is_tier_level else ticket.tier
    assignee: User | None = None
    if level.user_id is not None:
        assignee = User.objects.filter(pk=level.user_id, is_active=True).first()
    elif level.role == rules.LevelRole.ESCALATION_MANAGER:
        assignee = records.escalation_manager_of(team)
        if assignee is None:
            raise Conflict("There is no escalation manager to escalate to; make someone one in Settings → People.")
    elif level.role == rules.LevelRole.TEAM_LEAD:
        assignee = records.team_lead_of(team)
        if assignee is None:
            raise Conflict(f"Team {team.name if team else '—'} has no team lead to escalate to.")
    if to_user is not None:
        assignee = to_user
    if assignee is not None and not _agent_in(assignee, team) and not _is_manager(assignee):
        # A manager or named person outside the team takes the ticket into one of their teams.
        team = _first_team(assignee) or team
    if team is not None:
        tier = min(tier, team.tier_count)
    who = assignee.get_username() if assignee else "unassigned"
    return Destination(team=team, tier=tier, assignee=assignee, words=f"{team.name if team else 'no team'} L{tier}, {who}")


def _check_named_person(person: User, level: Destination) -> None:
    """Agents may hand to a named person only at the level they escalate to: the person that
    level names, or an agent of its team at its tier. Naming someone higher skips levels."""
    if level.assignee is not None:
        if person.pk != level.assignee.pk:
            raise PermissionDenied(f"This level goes to {level.assignee.get_username()}; agents cannot hand it to someone else.")
        return
    profile = AgentProfile.objects.filter(user=person).first()
    if profile is None or not _agent_in(person, level.team) or profile.tier != level.tier:
        team = level.team.name if level.team else "the team"
        raise PermissionDenied(f"Agents hand to someone at the next level: an L{level.tier} agent of {team}.")


def _refuse_done(ticket: Ticket) -> None:
    if ticket.status == Status.CLOSED:
        raise Conflict("This ticket is closed; open a follow-up ticket instead of escalating it.")
    if ticket.status == Status.SOLVED:
        raise Conflict(
            "This ticket is solved; it is escalated only once it is open again (a reply from the customer reopens it)."
        )


def _context(ticket: Ticket) -> dict[str, Any]:
    """The snapshot the next person reads first: who the customer is, their history, the SLA
    and the last messages — as they were when the escalation opened."""
    requester = ticket.requester
    organization = ticket.organization
    same_customer = (
        Ticket.objects.filter(organization=organization) if organization else Ticket.objects.filter(requester=requester)
    )
    clocks = Clock.objects.filter(ticket=ticket).order_by("metric", "cycle")
    messages = Message.objects.filter(ticket=ticket).order_by("-created_at", "-pk")[:3]
    return {
        "customer": {
            "name": requester.name,
            "email": requester.email,
            "is_vip": requester.is_vip,
            "organization": organization.name if organization else None,
            "tier": organization.tier if organization else None,
        },
        "history": {
            "open_tickets": same_customer.exclude(status__in=[Status.SOLVED, Status.CLOSED]).exclude(pk=ticket.pk).count(),
            "past_tickets": same_customer.filter(status__in=[Status.SOLVED, Status.CLOSED]).count(),
            "past_escalations": Escalation.objects.filter(ticket__in=same_customer).exclude(ticket=ticket).count(),
        },
        "ticket": {
            "number": ticket.number,
            "subject": ticket.subject,
            "priority": ticket.priority,
            "severity": ticket.severity,
            "status": ticket.status,
            "tier": ticket.tier,
            "team": ticket.team.name if ticket.team else None,
            "assignee": ticket.assignee.get_username() if ticket.assignee else None,
            "reopen_count": ticket.reopen_count,
        },
        "sla": [
            {
                "metric": clock.metric,
                "cycle": clock.cycle,
                "state": clock.state,
                "due_at": clock.due_at.isoformat() if clock.due_at else None,
                "breached_at": clock.breached_at.isoformat() if clock.breached_at else None,
            }
            for clock in clocks
        ],
        "last_messages": [
            {
                "at": message.created_at.isoformat(),
                "visibility": message.visibility,
                "author": "customer" if message.author_contact_id else "agent",
                "text": message.body_text[:1000],
            }
            for message in reversed(list(messages))
        ],
    }


def _repeat_of(active: Escalation | None, request: EscalateRequest, actor: User | None, at: datetime) -> Escalation | None:
    """Two clicks on "escalate": the second finds the ticket already above the level it saw. If
    that was this person a moment ago, it is the same escalation; otherwise a conflict."""
    if request.seen_level is None or active is None or active.level == request.seen_level:
        return None
    last = active.hops.order_by("-at", "-pk").first()
    if last is not None and last.actor_id == (actor.pk if actor else None) and at - last.at <= REPEAT_WINDOW:
        return active
    by = last.actor.get_username() if last is not None and last.actor else "the escalation ladder"
    raise Conflict(f"The ticket is at L{active.level} now (moved by {by}); reload to see the escalation before escalating again.")


@transaction.atomic
def escalate(
    *,
    ticket: Ticket,
    actor: User | None,
    request: EscalateRequest,
    type: str = EscalationType.HIERARCHICAL,
    now: datetime | None = None,
) -> Escalation:
    """Escalate up: open the escalation record (or raise the active one) one level up its path —
    or, for leads, managers and the system, to the requested level — and move the ticket there."""
    at = now or timezone.now()
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("team", "category", "requester", "organization")
        .get(pk=ticket.pk)
    )
    _refuse_done(ticket)
    errors: dict[str, str] = {}
    reason = _reason(request.reason, errors, is_system=actor is None)
    _check_note(request.handoff_note, errors)
    category = _category(request.category, ticket, errors)
    tags: list[str] = []
    try:
        tags = tickets.normalize_tags(list(request.tags))
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if request.to_user is not None and (not request.to_user.is_active or not hasattr(request.to_user, "agent_profile")):
        errors["to_user_id"] = f"{request.to_user.get_username()} is not an active agent."
    if errors:
        raise ValidationFailed(errors)
    assert reason is not None
    active = records.escalation_active_for(ticket=ticket, lock=True)
    if active is not None and type == EscalationType.CUSTOMER_REQUESTED:
        raise Conflict(f"This request is escalated already (level {active.level}); the escalation team has it.")
    repeat = _repeat_of(active, request, actor, at)
    if repeat is not None:
        return repeat
    if active is not None:
        path = records.path_from_json(active.path)
        current = active.level
        path_reason = active.path_reason
    else:
        choice = records.matrix_choice(
            category_slug=category.slug if category else None,
            severity=ticket.severity,
            tier_count=ticket.team.tier_count if ticket.team else 3,
        )
        path, path_reason = choice.path, choice.reason
        current = _current_level(path, ticket)
    role = user_role(user=actor) if actor is not None else None
    may_skip = actor is None or role in records.MANAGING_ROLES
    decision = rules.escalate_decision(
        path_length=len(path),
        current=current,
        requested=request.level,
        may_skip_levels=may_skip,
        at_words=path[current - 1].words() if 0 < current <= len(path) else "",
    )
    if decision.refusal == rules.EscalateRefusal.TOP:
        raise Conflict(decision.sentence)
    if decision.refusal == rules.EscalateRefusal.TOO_FAR:
        raise PermissionDenied(decision.sentence)
    if decision.refusal == rules.EscalateRefusal.NOT_UP or decision.level is None:
        raise ValidationFailed.one("level", decision.sentence)
    target = path[decision.level - 1]
    if request.to_user is not None and not may_skip:
        _check_named_person(request.to_user, _destination(target, ticket, None))
    destination = _destination(target, ticket, request.to_user)
    from_team, from_user, from_tier = ticket.team, ticket.assignee, ticket.tier
    if active is None:
        owner = records.escalation_manager_of(destination.team or ticket.team)
        escalation = Escalation.objects.create(
            ticket=ticket,
            type=type,
            level=decision.level,
            path=records.path_to_json(path),
            path_reason=path_reason,
            reason=reason,
            reason_text=request.reason_text.strip(),
            tags=tags,
            severity=ticket.severity,
            category=category,
            from_team=from_team,
            to_team=destination.team,
            from_user=from_user,
            to_user=destination.assignee,
            owner=owner,
            handoff_note=request.handoff_note.strip(),
            context=_context(ticket),
            created_by=actor,
            opened_at=at,
            updated_at=at,
        )
        kind = "escalation.opened"
    else:
        escalation = active
        escalation.level = decision.level
        escalation.to_team, escalation.to_user, escalation.updated_at = destination.team, destination.assignee, at
        escalation.tags = sorted({*escalation.tags, *tags})
        fields = ["level", "to_team", "to_user", "updated_at", "tags"]
        if escalation.status in (EscalationStatus.ACKNOWLEDGED, EscalationStatus.IN_PROGRESS):
            # A new level means new people who have not seen it yet.
            escalation.status = EscalationStatus.OPEN
            fields.append("status")
        escalation.save(update_fields=fields)
        kind = "escalation.raised"
    hop = _hop(
        escalation,
        type,
        current,
        decision.level,
        from_team,
        from_user,
        from_tier,
        destination,
        request.handoff_note,
        actor,
        at,
        target.response_minutes,
    )
    records.escalation_event(
        escalation,
        kind,
        actor,
        at,
        type=type,
        level=decision.level,
        reason=reason.slug,
        to=destination.words,
        handoff_note=request.handoff_note.strip(),
        hop=hop.pk,
        status=escalation.status,
    )
    _move_ticket(ticket, destination, actor, at, rematch=True)
    if request.risk_likelihood is not None or request.risk_impact is not None:
        records.escalation_set_risk(
            escalation=escalation, likelihood=request.risk_likelihood, impact=request.risk_impact, actor=actor, now=at
        )
    if kind == "escalation.opened" and category is not None:
        playbook = Playbook.objects.filter(category=category, is_active=True).order_by("name").first()
        if playbook is not None:
            records.action_plan_apply(escalation=escalation, playbook=playbook, actor=actor, now=at)
    _tell(escalation, kind, hop, at)
    return escalation


def _hop(
    escalation: Escalation,
    type: str,
    from_level: int,
    to_level: int,
    from_team: Team | None,
    from_user: User | None,
    from_tier: int,
    destination: Destination,
    note: str,
    actor: User | None,
    at: datetime,
    response_minutes: int | None,
) -> Hop:
    return Hop.objects.create(
        escalation=escalation,
        type=type,
        from_level=from_level,
        to_level=to_level,
        from_team=from_team,
        to_team=destination.team,
        from_user=from_user,
        to_user=destination.assignee,
        from_tier=from_tier,
        to_tier=destination.tier,
        note=note.strip(),
        actor=actor,
        at=at,
        response_due_at=at + timedelta(minutes=response_minutes) if response_minutes else None,
    )


def _move_ticket(ticket: Ticket, destination: Destination, actor: User | None, at: datetime, *, rematch: bool) -> Ticket:
    if rematch:
        ticket = verbs.ticket_assign(ticket=ticket, team=destination.team, assignee=destination.assignee, actor=actor, now=at)
    else:
        # A functional transfer keeps the customer's SLA policy and clocks as they are.
        ticket = tickets.ticket_assign(ticket=ticket, team=destination.team, assignee=destination.assignee, actor=actor, now=at)
    return tickets.ticket_set_tier(ticket=ticket, tier=destination.tier, actor=actor, now=at)


def _tell(escalation: Escalation, kind: str, hop: Hop, at: datetime) -> None:
    """The customer hears that specialists have the case (never the internal note); the people
    receiving it get the hand-off note; subscribers and rules get the event."""
    ticket = Ticket.objects.select_related("requester", "team", "assignee").get(pk=escalation.ticket_id)
    notifications.customer_notify_escalated(ticket=ticket, level=escalation.level - 1, now=at)
    people = [user for user in (hop.to_user, escalation.owner) if user is not None]
    internal.people_notify(
        kind=kind,
        ticket=ticket,
        users=list({user.pk: user for user in people}.values()),
        emails=[],
        lines=[
            f"Escalation {escalation.pk} ({escalation.get_type_display()}) is at L{escalation.level}: {escalation.reason.name}.",
            f"Hand-off note: {hop.note}",
        ],
        key=f"hop:{hop.pk}",
        now=at,
    )
    data = {**notifications.ticket_data(ticket), **escalation_data(escalation)}
    internal.announce(kind=kind, ticket=ticket, data=data, now=at)


def escalation_data(escalation: Escalation) -> dict[str, Any]:
    return {
        "escalation_id": escalation.pk,
        "escalation_type": escalation.type,
        "escalation_status": escalation.status,
        "level": escalation.level,
        "reason": escalation.reason.slug,
    }


@transaction.atomic
def transfer(
    *,
    ticket: Ticket,
    actor: User | None,
    team: Team,
    reason: str,
    handoff_note: str,
    to_user: User | None = None,
    reason_text: str = "",
    now: datetime | None = None,
) -> Escalation:
    """Functional escalation: hand the ticket to another team (engineering, finance …). The
    customer's SLA clocks carry on untouched; the receiving team's own response target (if it
    has one) starts, so "waiting on engineering" is measured."""
    at = now or timezone.now()
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("team", "category", "requester", "organization")
        .get(pk=ticket.pk)
    )
    _refuse_done(ticket)
    errors: dict[str, str] = {}
    found_reason = _reason(reason, errors, is_system=actor is None)
    _check_note(handoff_note, errors)
    if team.pk == ticket.team_id:
        errors["team_id"] = f"The ticket is with {team.name} already; escalate up within the team instead."
    if to_user is not None and not _agent_in(to_user, team):
        errors["to_user_id"] = f"{to_user.get_username()} is not an agent of {team.name}."
    if errors:
        raise ValidationFailed(errors)
    assert found_reason is not None
    active = records.escalation_active_for(ticket=ticket, lock=True)
    destination = Destination(team=team, tier=1, assignee=to_user, words=f"{team.name} L1")
    from_team, from_user, from_tier = ticket.team, ticket.assignee, ticket.tier
    if active is None:
        escalation = Escalation.objects.create(
            ticket=ticket,
            type=EscalationType.FUNCTIONAL,
            level=1,
            path=records.path_to_json(rules.team_path(team.tier_count)),
            path_reason=f"transfer to {team.name}",
            reason=found_reason,
            reason_text=reason_text.strip(),
            severity=ticket.severity,
            category=_category(None, ticket, {}),
            from_team=from_team,
            to_team=team,
            from_user=from_user,
            to_user=to_user,
            owner=records.escalation_manager_of(team),
            handoff_note=handoff_note.strip(),
            context=_context(ticket),
            created_by=actor,
            opened_at=at,
            updated_at=at,
        )
        kind = "escalation.opened"
        records.escalation_event(escalation, kind, actor, at, type=EscalationType.FUNCTIONAL, level=1, reason=found_reason.slug)
    else:
        escalation = active
        escalation.to_team, escalation.to_user, escalation.updated_at = team, to_user, at
        escalation.save(update_fields=["to_team", "to_user", "updated_at"])
        kind = "escalation.transferred"
    hop = _hop(
        escalation,
        EscalationType.FUNCTIONAL,
        escalation.level,
        escalation.level,
        from_team,
        from_user,
        from_tier,
        destination,
        handoff_note,
        actor,
        at,
        team.transfer_target_minutes,
    )
    records.escalation_event(
        escalation,
        "escalation.transferred",
        actor,
        at,
        to_team=team.name,
        reason=found_reason.slug,
        handoff_note=handoff_note.strip(),
        hop=hop.pk,
        response_due_at=hop.response_due_at,
    )
    _move_ticket(ticket, destination, actor, at, rematch=False)
    _tell(escalation, kind if kind == "escalation.opened" else "escalation.transferred", hop, at)
    return escalation


def _lock(escalation: Escalation) -> Escalation:
    """Lock the ticket, then its escalation — the order `escalate` and `transfer` take them in,
    so two writers never wait on each other in a circle."""
    Ticket.objects.select_for_update(of=("self",)).filter(pk=escalation.ticket_id).first()
    return records.escalation_lock(escalation_id=escalation.pk)


@transaction.atomic
def de_escalate(*, escalation: Escalation, actor: User | None, note: str, now: datetime | None = None) -> Escalation:
    """The specialist's part is done: the ticket goes back to where the escalation found it
    (team, tier, person) and the record ends as de-escalated."""
    at = now or timezone.now()
    escalation = _lock(escalation)
    errors: dict[str, str] = {}
    _check_note(note, errors, field="note")
    if errors:
        raise ValidationFailed(errors)
    problem = rules.transition_problem(rules.EscalationStatus(escalation.status), rules.EscalationStatus.DE_ESCALATED)
    if problem:
        raise Conflict(problem)
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("team").get(pk=escalation.ticket_id)
    first = escalation.hops.order_by("at", "pk").first()
    assert first is not None
    back_team = first.from_team
    back_user = first.from_user if first.from_user is not None and _agent_in(first.from_user, back_team) else None
    destination = Destination(team=back_team, tier=first.from_tier or 1, assignee=back_user, words="where it came from")
    hop = _hop(
        escalation,
        "de_escalation",
        escalation.level,
        first.from_level,
        ticket.team,
        ticket.assignee,
        ticket.tier,
        destination,
        note,
        actor,
        at,
        None,
    )
    records.escalation_move(escalation=escalation, status=EscalationStatus.DE_ESCALATED, actor=actor, now=at, note=note)
    escalation.level = first.from_level
    escalation.save(update_fields=["level"])
    escalation.hops.exclude(pk=hop.pk).filter(responded_at__isnull=True).update(responded_at=at)
    _move_ticket(ticket, destination, actor, at, rematch=True)
    fresh = Ticket.objects.select_related("requester", "team", "assignee").get(pk=ticket.pk)
    internal.announce(
        kind="escalation.de_escalated",
        ticket=fresh,
        data={**notifications.ticket_data(fresh), **escalation_data(escalation)},
        now=at,
    )
    return escalation


@transaction.atomic
def resolve(*, escalation: Escalation, actor: User | None, now: datetime | None = None) -> Escalation:
    """Resolve the escalation and solve its ticket. The root cause must be complete (422 naming
    what is missing). Where sign-off is required and not given, the resolution is held: the
    escalation waits for approval and the customer hears nothing until an approver approves."""
    at = now or timezone.now()
    escalation = _lock(escalation)
    missing = records.root_cause_missing(escalation)
    if missing:
        raise ValidationFailed(
            {f"root_cause.{name}": "Required to resolve an escalation." for name in missing},
            "The root cause is not complete.",
        )
    problem = rules.transition_problem(rules.EscalationStatus(escalation.status), rules.EscalationStatus.RESOLVED)
    if problem:
        raise Conflict(problem)
    if records.needs_approval(escalation) and not records.is_approved(escalation):
        if not escalation.approvals.filter(state=ApprovalState.PENDING).exists():
            records.approval_request(escalation=escalation, actor=actor, note="Resolution awaiting sign-off.", now=at)
        escalation.is_resolution_held = True
        escalation.save(update_fields=["is_resolution_held"])
        records.escalation_event(escalation, "escalation.resolution_held", actor, at)
        return escalation
    return _finish(escalation, actor, at)


def _finish(escalation: Escalation, actor: User | None, at: datetime) -> Escalation:
    records.escalation_move(escalation=escalation, status=EscalationStatus.RESOLVED, actor=actor, now=at)
    escalation.is_resolution_held = False
    escalation.save(update_fields=["is_resolution_held"])
    escalation.hops.filter(responded_at__isnull=True).update(responded_at=at)
    ticket = Ticket.objects.get(pk=escalation.ticket_id)
    summary = escalation.root_cause.customer_summary
    if ticket.status not in (Status.SOLVED, Status.CLOSED):
        ticket = verbs.ticket_change_status(ticket=ticket, status=Status.SOLVED, actor=actor, now=at, resolution_summary=summary)
    fresh = Ticket.objects.select_related("requester", "team", "assignee").get(pk=ticket.pk)
    internal.announce(
        kind="escalation.resolved", ticket=fresh, data={**notifications.ticket_data(fresh), **escalation_data(escalation)}, now=at
    )
    return escalation


@transaction.atomic
def decide(*, escalation: Escalation, actor: User, is_approved: bool, comment: str, now: datetime | None = None) -> Escalation:
    """An approver signs off (or refuses). Approval releases a held resolution: the ticket is
    solved and the customer gets the resolution message with the root-cause summary."""
    at = now or timezone.now()
    escalation = _lock(escalation)
    records.approval_decide(escalation=escalation, user=actor, is_approved=is_approved, comment=comment, now=at)
    ticket = Ticket.objects.select_related("requester", "team", "assignee").get(pk=escalation.ticket_id)
    kind = "escalation.approved" if is_approved else "escalation.rejected"
    internal.announce(kind=kind, ticket=ticket, data={**notifications.ticket_data(ticket), **escalation_data(escalation)}, now=at)
    if not is_approved:
        return escalation
    if escalation.is_resolution_held:
        return _finish(escalation, actor, at)
    return records.escalation_move(
        escalation=escalation, status=EscalationStatus.IN_PROGRESS, actor=actor, now=at, note="approved"
    )


def on_customer_reopen(*, ticket: Ticket, now: datetime) -> Escalation | None:
    """The customer wrote again inside the reopen window and the ticket reopened: its last
    resolved escalation reopens too (re-escalation count + 1) and its owner hears of it. On the
    Nth reopen (settings) a ticket with no escalation is escalated automatically."""
    last = Escalation.objects.select_for_update().filter(ticket=ticket).order_by("-opened_at", "-pk").first()
    if last is not None and last.status == EscalationStatus.RESOLVED:
        records.escalation_move(
            escalation=last, status=EscalationStatus.REOPENED, actor=None, now=now, note="the customer wrote again"
        )
        last.re_escalation_count += 1
        last.save(update_fields=["re_escalation_count"])
        fresh = Ticket.objects.select_related("requester", "team", "assignee").get(pk=ticket.pk)
        owner = [last.owner] if last.owner is not None else []
        internal.people_notify(
            kind="escalation.reopened",
            ticket=fresh,
            users=owner,
            emails=[],
            lines=[
                f"The customer reopened ticket #{fresh.number}; escalation {last.pk} is open again "
                f"(re-escalation {last.re_escalation_count})."
            ],
            key=f"escalation:{last.pk}:reopen:{last.re_escalation_count}",
            now=now,
        )
        internal.announce(
            kind="escalation.reopened", ticket=fresh, data={**notifications.ticket_data(fresh), **escalation_data(last)}, now=now
        )
        return last
    threshold = records.escalation_settings().escalate_on_reopen
    if threshold and ticket.reopen_count >= threshold and records.escalation_active_for(ticket=ticket) is None:
        request = EscalateRequest(
            reason="reopened",
            handoff_note=f"Reopened {ticket.reopen_count} times by the customer; escalated automatically.",
        )
        return escalate_quietly(ticket=ticket, request=request, type=EscalationType.AUTOMATIC, now=now)
    return None


def escalate_quietly(*, ticket: Ticket, request: EscalateRequest, type: str, now: datetime) -> Escalation | None:
    """An escalation the system starts on the side of a customer's message (the Nth reopen, the
    e-mail keyword): if it cannot happen (no escalation manager, the top of the path …), the
    message still lands and the reason is logged — a customer's words are never refused for it."""
    try:
        with transaction.atomic():
            return escalate(ticket=ticket, actor=None, request=request, type=type, now=now)
    except ServiceError as exc:
        logger.warning("ticket %s: automatic %s escalation not made: %s", ticket.pk, type, exc.message)
        return None


def responded(*, ticket: Ticket, user: User, now: datetime) -> None:
    """Someone of the receiving side acted on the ticket (a reply or a note): the current hop's
    response target is met."""
    profile = AgentProfile.objects.filter(user=user).first()
    if profile is None:
        return
    teams = set(profile.teams.values_list("pk", flat=True))
    waiting = Hop.objects.filter(
        escalation__ticket=ticket, escalation__status__in=[s.value for s in rules.ACTIVE], responded_at__isnull=True
    )
    answered = [
        hop.pk
        for hop in waiting
        # The person who escalated does not answer their own hand-off; the receiving side does:
        # the named person, or an agent of the receiving team at (or above) the tier reached.
        if hop.actor_id != user.pk
        and hop.from_user_id != user.pk
        and (
            hop.to_user_id == user.pk
            or (hop.to_user_id is None and hop.to_team_id in teams and profile.tier >= (hop.to_tier or 1))
        )
    ]
    if answered:
        Hop.objects.filter(pk__in=answered).update(responded_at=now)


def customer_request(*, ticket: Ticket, actor: User | None, reason_text: str, now: datetime | None = None) -> Escalation:
    """The customer asks for an escalation (portal or e-mail keyword), with their reason; it is
    routed by the matrix like any other, one level up."""
    errors: dict[str, str] = {}
    if not reason_text.strip():
        errors["reason_text"] = "Tell us why you want this escalated, so the right people pick it up."
    elif len(reason_text) > 5000:
        errors["reason_text"] = "At most 5,000 characters."
    if errors:
        raise ValidationFailed(errors)
    request = EscalateRequest(
        reason="customer-request", reason_text=reason_text.strip(), handoff_note=f"The customer asked: {reason_text.strip()}"
    )
    return escalate(ticket=ticket, actor=None, request=request, type=EscalationType.CUSTOMER_REQUESTED, now=now)


def keyword_request_text(body: str, keyword: str) -> str | None:
    """The customer's reason when their mail asks for an escalation with the keyword (a line
    starting with it, e.g. "#escalate the invoice is still wrong"); None when it does not."""
    lines = body.splitlines()
    for index, line in enumerate(lines):
        if line.strip().lower().startswith(keyword.lower()):
            reason = line.strip()[len(keyword) :].strip(" :-")
            if not reason:
                rest = " ".join(" ".join(lines[:index] + lines[index + 1 :]).split())
                reason = rest[:500] or "Asked by e-mail."
            return reason[:5000]
    return None


def open_escalation_problem(ticket: Ticket) -> str | None:
    """A sentence when the ticket may not be solved yet because an escalation is open on it."""
    active = records.escalation_active_for(ticket=ticket)
    if active is None:
        return None
    return (
        f"Escalation {active.pk} (L{active.level}) is open on this ticket; resolve it with its root cause "
        "(or de-escalate it) before solving the ticket."
    )


@dataclass(frozen=True)
class CustomerView:
    """An escalation as the customer may see it: who has it, since when, and when they will hear
    next — never the internal note, the reason or the people's names."""

    level: int
    holder: str
    since: datetime
    next_update_due: datetime | None
    status: str


def customer_view(*, ticket: Ticket) -> CustomerView | None:
    active = records.escalation_active_for(ticket=ticket)
    if active is None:
        return None
    path = records.path_from_json(active.path)
    level = path[active.level - 1] if 0 < active.level <= len(path) else None
    team = active.to_team.name if active.to_team else None
    if level is not None and level.role == rules.LevelRole.ESCALATION_MANAGER:
        holder = "our escalation manager"
    elif level is not None and level.role == rules.LevelRole.TEAM_LEAD:
        holder = f"the lead of our {team} team" if team else "a team lead"
    else:
        holder = f"our {team} specialists (level {active.level})" if team else f"our level {active.level} specialists"
    waiting = [hop.response_due_at for hop in active.hops.all() if hop.response_due_at and hop.responded_at is None]
    clocks = Clock.objects.filter(
        ticket=ticket, metric__in=["first_response", "next_response"], state__in=["running", "breached"], due_at__isnull=False
    ).values_list("due_at", flat=True)
    due = [d for d in [*waiting, *clocks] if d is not None]
    status = "reopened" if active.status == EscalationStatus.REOPENED else "in progress"
    return CustomerView(
        level=active.level, holder=holder, since=active.opened_at, next_update_due=min(due, default=None), status=status
    )
