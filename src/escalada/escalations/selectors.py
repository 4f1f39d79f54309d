"""Reads on ladders (staff) and a ticket's escalation: the next step and the fired ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from escalada.accounts.selectors import is_staff_role, user_role
from escalada.base.errors import NotFound, PermissionDenied
from escalada.escalations.models import EscalationRun, EscalationStep, Ladder, RunState, StepState
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
    for step in EscalationStep.objects.filter(run=run).order_by("level", "cycle"):
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
