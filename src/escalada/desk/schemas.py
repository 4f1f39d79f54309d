from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from ninja import Field, Schema

from escalada.accounts.selectors import viewer_is_customer
from escalada.escalations.selectors import ticket_escalation
from escalada.sla.selectors import TicketSla, ticket_sla
from escalada.tickets.models import Ticket
from escalada.tickets.schemas import TicketOut


class ClockOut(Schema):
    metric: str
    cycle: int
    state: str = Field(description="running, paused, breached or fulfilled")
    is_business_time: bool
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    warned_at: datetime | None
    paused_at: datetime | None
    breached_at: datetime | None
    fulfilled_at: datetime | None
    business_seconds_remaining: int = Field(description="negative once breached; frozen while paused or fulfilled")


class SlaPolicyOut(Schema):
    id: int | None = Field(description="null when the policy has been deleted since it was applied")
    name: str
    reason: str


def _sla(obj: Ticket) -> TicketSla:
    cached: TicketSla | None = getattr(obj, "_sla_view", None)
    if cached is None:
        cached = ticket_sla(ticket=obj, now=timezone.now())
        obj._sla_view = cached  # type: ignore[attr-defined]
    return cached


class StepOut(Schema):
    level: int = Field(description="1-based")
    cycle: int
    state: str = Field(description="pending (waiting while due_at is null), fired or cancelled")
    due_at: datetime | None
    fired_at: datetime | None
    is_late: bool
    acknowledged_at: datetime | None
    actions: str


class EscalationOut(Schema):
    ladder: str
    ladder_version: int
    next_step: StepOut | None
    steps: list[StepOut]


class TicketDetailOut(TicketOut):
    """A ticket with its SLA clocks, the policy they follow and its escalation ladder (null for customers)."""

    sla: list[ClockOut] | None
    sla_policy: SlaPolicyOut | None
    escalation: EscalationOut | None

    @staticmethod
    def resolve_escalation(obj: Ticket, context: dict[str, Any]) -> Any:
        return None if viewer_is_customer(context) else ticket_escalation(ticket=obj)

    @staticmethod
    def resolve_sla(obj: Ticket, context: dict[str, Any]) -> Any:
        return None if viewer_is_customer(context) else _sla(obj).clocks

    @staticmethod
    def resolve_sla_policy(obj: Ticket, context: dict[str, Any]) -> Any:
        if viewer_is_customer(context):
            return None
        view = _sla(obj)
        if not view.policy_name:
            return None
        return {"id": view.policy_id, "name": view.policy_name, "reason": view.reason}
