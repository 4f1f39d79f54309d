"""The customer panel of the agent's ticket page: who this is for the business — tier, VIP,
other open tickets, history, past escalations and satisfaction — in four queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Avg, Count, Q

from escalada.escalations.models import Escalation
from escalada.tickets.models import SatisfactionRating, Status, Ticket

OPEN = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


@dataclass(frozen=True)
class CustomerPanel:
    scope: str  # "Northwind" or the requester's name
    open_tickets: list[Ticket]
    open_count: int
    past_count: int
    past_escalations: int
    csat_average: float | None
    csat_count: int


def customer_panel(*, ticket: Ticket) -> CustomerPanel:
    """The organization's history when the requester has one, else the requester's own."""
    if ticket.organization_id is not None:
        same = Ticket.objects.filter(organization_id=ticket.organization_id)
        scope = ticket.organization.name if ticket.organization else ""
    else:
        same = Ticket.objects.filter(requester_id=ticket.requester_id)
        scope = ticket.requester.name
    others = same.exclude(pk=ticket.pk)
    counts = others.aggregate(
        open=Count("pk", filter=Q(status__in=OPEN)), past=Count("pk", filter=Q(status__in=[Status.SOLVED, Status.CLOSED]))
    )
    open_tickets = list(others.filter(status__in=OPEN).order_by("-created_at").only("pk", "number", "subject", "status")[:5])
    escalations = Escalation.objects.filter(ticket__in=others).count()
    csat = SatisfactionRating.objects.filter(ticket__in=same).aggregate(average=Avg("score"), n=Count("pk"))
    return CustomerPanel(
        scope=scope,
        open_tickets=open_tickets,
        open_count=counts["open"],
        past_count=counts["past"],
        past_escalations=escalations,
        csat_average=round(float(csat["average"]), 1) if csat["average"] is not None else None,
        csat_count=csat["n"],
    )
