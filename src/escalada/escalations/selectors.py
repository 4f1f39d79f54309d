"""Reads on ladders (staff) and a ticket's escalation: the next step and the fired ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, Count, IntegerField, QuerySet, Value, When

from escalada.accounts.models import Role
from escalada.accounts.selectors import is_staff_role, team_ids_of, user_role
from escalada.base.errors import NotFound, PermissionDenied
from escalada.escalations.models import (
    ActionStep,
    Contributor,
    Escalation,
    EscalationRun,
    EscalationStep,
    Ladder,
    RootCause,
    RunState,
    StepState,
)
from escalada.tickets.models import Ticket


def _require_staff(user: AbstractBaseUser | AnonymousUser) -> None:
    if not is_staff_role(user_role(user=user)):
        raise PermissionDenied("Only agents see escalation ladders.")


def ladder_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Ladder]:
    _require_staff(user)
    return Ladder.objects.order_by("rank", "name")


def ladder_get(*, user: AbstractBaseUser | AnonymousUser, ladder_id: int) -> Ladder:
    _require_staff(user)
    ladder = Ladder.objects.filter(pk=ladder_id).first()
    if ladder is None:
        raise NotFound(f"There is no escalation ladder {ladder_id}.")
    return ladder


def describe_actions(actions: list[dict[str, object]]) -> str:
    words = {
        "assign_team": "reassign to a team",
        "assign_user": "reassign to a person",
        "assign_escalation_manager": "assign the escalation manager",
        "raise_priority": "raise priority",
        "set_priority": "set priority",
        "raise_tier": "raise tier",
        "set_tier": "set tier",
        "add_tags": "add tags",
        "notify": "notify",
        "notify_customer": "tell the customer",
        "webhook": "webhook",
    }
    return ", ".join(words.get(str(a.get("type")), str(a.get("type"))) for a in actions)


@dataclass(frozen=True)
class StepView:
    level: int  # 1-based, as people count levels
    cycle: int
    state: str
    due_at: datetime | None
    fired_at: datetime | None
    is_late: bool
    acknowledged_at: datetime | None
    actions: str


@dataclass(frozen=True)
class TicketEscalation:
    ladder: str
    ladder_version: int
    next_step: StepView | None
    steps: list[StepView]


def ticket_escalation(*, ticket: Ticket) -> TicketEscalation | None:
    """The running ladder on a ticket (caller checked access), None when there is none."""
    run = EscalationRun.objects.filter(ticket=ticket, state=RunState.RUNNING).first()
    if run is None:
        return None
    views = []
    for step in EscalationStep.objects.filter(run=run).order_by("level", "occurrence", "cycle"):
        raw = run.snapshot[step.level] if step.level < len(run.snapshot) else {}
        views.append(
            StepView(
                level=step.level + 1,
                cycle=step.cycle,
                state=step.state,
                due_at=step.due_at,
                fired_at=step.fired_at,
                is_late=step.is_late,
                acknowledged_at=step.acknowledged_at,
                actions=describe_actions(list(raw.get("actions", []))),
            )
        )
    upcoming = sorted(
        (v for v in views if v.state == StepState.PENDING and v.due_at is not None),
        key=lambda v: v.due_at or datetime.max.replace(tzinfo=UTC),
    )
    return TicketEscalation(
        ladder=run.ladder_name, ladder_version=run.ladder_version, next_step=upcoming[0] if upcoming else None, steps=views
    )


# --- escalation records -------------------------------------------------------------------------


@dataclass(frozen=True)
class EscalationFilters:
    status: list[str] | None = None
    level: int | None = None
    team_id: int | None = None
    severity: list[str] | None = None
    category: str | None = None
    owner_id: int | None = None
    type: str | None = None


def escalation_list_accessible(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Escalation]:
    """Escalations are for staff: every agent sees every escalation (hand-offs need the context)."""
    if not is_staff_role(user_role(user=user)):
        raise PermissionDenied("The escalation board is for agents, leads, escalation managers and admins.")
    return Escalation.objects.select_related("ticket", "reason", "category", "owner", "to_team", "to_user", "from_team")


def escalation_filter(rows: QuerySet[Escalation], filters: EscalationFilters) -> QuerySet[Escalation]:
    if filters.status:
        rows = rows.filter(status__in=filters.status)
    if filters.level is not None:
        rows = rows.filter(level=filters.level)
    if filters.team_id is not None:
        rows = rows.filter(to_team_id=filters.team_id)
    if filters.severity:
        rows = rows.filter(severity__in=filters.severity)
    if filters.category:
        rows = rows.filter(category__slug=filters.category)
    if filters.owner_id is not None:
        rows = rows.filter(owner_id=filters.owner_id)
    if filters.type:
        rows = rows.filter(type=filters.type)
    return rows


def escalation_get_accessible(*, user: AbstractBaseUser | AnonymousUser, escalation_id: int) -> Escalation:
    """The one loader for an escalation on behalf of a user; customers get a 404."""
    if not is_staff_role(user_role(user=user)):
        raise NotFound(f"No escalation with id {escalation_id}.")
    row = escalation_list_accessible(user=user).filter(pk=escalation_id).first()
    if row is None:
        raise NotFound(f"No escalation with id {escalation_id}.")
    return row


def escalation_may_change(*, user: AbstractBaseUser | AnonymousUser, escalation: Escalation, moves_ticket: bool = False) -> bool:
    """Escalation managers and admins change any escalation. Others — leads and agents — those
    whose ticket is theirs to change (their team's, unassigned to a team, or assigned to them),
    and, unless the change moves or solves the ticket (de-escalate, resolve), the ones they own
    or contribute to."""
    role = user_role(user=user)
    if role in {Role.ADMIN, Role.ESCALATION_MANAGER}:
        return True
    if role not in {Role.AGENT, Role.TEAM_LEAD}:
        return False
    ticket = escalation.ticket
    if ticket.team_id is None or ticket.assignee_id == user.pk or ticket.team_id in team_ids_of(user=user):
        return True
    if moves_ticket:
        return False
    return escalation.owner_id == user.pk or Contributor.objects.filter(escalation=escalation, user_id=user.pk or 0).exists()


def escalation_get_changeable(
    *, user: AbstractBaseUser | AnonymousUser, escalation_id: int, moves_ticket: bool = False
) -> Escalation:
    row = escalation_get_accessible(user=user, escalation_id=escalation_id)
    if not escalation_may_change(user=user, escalation=row, moves_ticket=moves_ticket):
        if moves_ticket:
            raise PermissionDenied("This moves the ticket: only its team, its assignee, escalation managers and admins do that.")
        raise PermissionDenied("Only its owner, contributors, the ticket's team, escalation managers and admins change it.")
    return row


def escalation_for_output(*, escalation_id: int) -> Escalation:
    return (
        Escalation.objects.select_related(
            "ticket", "reason", "category", "owner", "to_team", "to_user", "from_team", "from_user", "created_by"
        )
        .prefetch_related(
            "hops__actor",
            "hops__to_team",
            "hops__from_team",
            "hops__to_user",
            "hops__from_user",
            "action_steps__assignee",
            "contributors__user",
            "approvals__decided_by",
            "approvals__requested_by",
        )
        .get(pk=escalation_id)
    )


def root_cause_of(escalation: Escalation) -> RootCause | None:
    return RootCause.objects.filter(escalation=escalation).select_related("category", "owning_team").first()


def board_order(rows: QuerySet[Escalation]) -> QuerySet[Escalation]:
    """Unacknowledged first (open, reopened), then by age, oldest first."""
    unacknowledged = Case(When(status__in=["open", "reopened"], then=Value(0)), default=Value(1), output_field=IntegerField())
    return rows.annotate(unacknowledged=unacknowledged).order_by("unacknowledged", "opened_at", "pk")


def overdue_step_counts(escalation_ids: list[int], *, now: datetime) -> dict[int, int]:
    rows = (
        ActionStep.objects.filter(escalation_id__in=escalation_ids, done_at__isnull=True, due_at__lt=now)
        .values("escalation_id")
        .annotate(n=Count("pk"))
    )
    return {row["escalation_id"]: row["n"] for row in rows}
