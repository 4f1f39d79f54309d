"""The agent's queue: their tickets and their teams' unassigned ones, ranked by the priority
score of `escalada.core.scoring` (SLA time left in business time, priority, severity, the
customer's tier and VIP, the escalation level, how long the customer has waited).

Four queries whatever the queue's length: the tickets (with customer and organization), their
counting SLA clocks and those clocks' calendars, and their active escalations' levels. The score is computed in Python: the SLA part
needs each clock's calendar, which the database cannot evaluate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Q, QuerySet

from escalada.accounts.models import Role
from escalada.accounts.selectors import team_ids_of, user_role
from escalada.core.escalation import ACTIVE
from escalada.core.scoring import Score, Urgency, score
from escalada.escalations.models import Escalation
from escalada.sla.selectors import sla_nearest_many
from escalada.tickets.models import Status, Ticket

OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
WORKABLE = (Status.NEW, Status.OPEN)  # pending and on hold wait on someone else
QUEUE_LIMIT = 2000  # the ranked list a person can use; more is a filter problem, not a queue


@dataclass(frozen=True)
class QueueRow:
    ticket: Ticket
    score: Score
    level: int | None


def queue_tickets(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Ticket]:
    """Open tickets assigned to the user, and unassigned ones of their teams (or of no team).
    Admins and escalation managers see every open ticket."""
    # Only what ranking and the row read: a thousand rows of five joined models cost more to
    # build than to rank.
    tickets = Ticket.objects.filter(status__in=OPEN_STATUSES).select_related("requester", "organization")
    if user_role(user=user) in {Role.ADMIN, Role.ESCALATION_MANAGER}:
        return tickets
    teams = team_ids_of(user=user)
    return tickets.filter(
        Q(assignee_id=user.pk) | Q(assignee__isnull=True, team_id__in=teams) | Q(assignee__isnull=True, team__isnull=True)
    )


def queue_rank(
    *, user: AbstractBaseUser | AnonymousUser, now: datetime, narrow: Callable[[QuerySet[Ticket]], QuerySet[Ticket]] | None = None
) -> list[QueueRow]:
    """The queue ranked; `narrow` (a view's filter) picks among its tickets first."""
    chosen = queue_tickets(user=user)
    if narrow is not None:
        chosen = narrow(chosen)
    tickets = list(chosen.order_by("created_at")[:QUEUE_LIMIT])
    ids = [t.pk for t in tickets]
    nearest = sla_nearest_many(ticket_ids=ids, now=now)
    levels = dict(
        Escalation.objects.filter(ticket_id__in=ids, status__in=[s.value for s in ACTIVE]).values_list("ticket_id", "level")
    )
    rows = []
    for ticket in tickets:
        left, metric = nearest.get(ticket.pk, (None, ""))
        waiting = None
        if ticket.status in WORKABLE and ticket.last_customer_message_at is not None:
            answered = ticket.last_agent_reply_at
            if answered is None or answered < ticket.last_customer_message_at:
                waiting = (now - ticket.last_customer_message_at).total_seconds()
        urgency = Urgency(
            priority=ticket.priority,
            severity=ticket.severity,
            tier=ticket.organization.tier if ticket.organization else None,
            is_vip=ticket.requester.is_vip,
            escalation_level=levels.get(ticket.pk),
            sla_seconds_left=left,
            sla_metric=metric,
            waiting_seconds=waiting,
        )
        rows.append(QueueRow(ticket=ticket, score=score(urgency), level=levels.get(ticket.pk)))
    rows.sort(key=lambda row: (-row.score.total, row.ticket.created_at, row.ticket.pk))
    return rows


def queue_next(
    *, user: User, now: datetime, narrow: Callable[[QuerySet[Ticket]], QuerySet[Ticket]] | None = None
) -> Ticket | None:
    """The top ticket this person may work now: new or open, theirs or unassigned (within the
    view they are looking at, when `narrow` is given)."""
    for row in queue_rank(user=user, now=now, narrow=narrow):
        ticket = row.ticket
        if ticket.status in WORKABLE and ticket.assignee_id in (None, user.pk):
            return ticket
    return None
