from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Q, QuerySet

from escalada.accounts.models import Role, Team
from escalada.accounts.selectors import team_ids_of, user_role
from escalada.base.errors import NotFound, PermissionDenied, ValidationFailed
from escalada.customers.selectors import contact_of
from escalada.tickets.models import Category, Message, Ticket, Visibility

_TICKET_NUMBER = re.compile(r"#?([0-9]{1,18})")


class TicketAction(StrEnum):
    VIEW = "view"
    REPLY = "reply"  # public replies; customers may do this on their tickets
    CHANGE = "change"  # internal notes, status, assignment, fields


def ticket_list_accessible(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Ticket]:
    """Every ticket this user may see.

    Agents, leads, escalation managers and admins see all tickets (hand-offs need the context);
    a customer sees the tickets of their organization, or only their own without one.
    """
    role = user_role(user=user)
    tickets = Ticket.objects.select_related("requester", "organization", "category", "team", "assignee")
    if role is None:
        return tickets.none()
    if role != Role.CUSTOMER:
        return tickets
    contact = contact_of(user=user)
    if contact is None:
        return tickets.none()
    if contact.organization_id is None:
        return tickets.filter(requester_id=contact.pk)
    return tickets.filter(organization_id=contact.organization_id)


def ticket_for_output(*, ticket_id: int) -> Ticket:
    """A ticket with what its API representation reads; only for a ticket the caller just
    loaded through `ticket_get_accessible` or created."""
    return (
        Ticket.objects.select_related("requester", "organization", "category", "team", "assignee")
        .prefetch_related("tags")
        .get(pk=ticket_id)
    )


def ticket_may_change(*, user: AbstractBaseUser | AnonymousUser, ticket: Ticket) -> bool:
    """Admins and escalation managers change any ticket; agents and leads the tickets of their
    teams, tickets with no team yet, and tickets assigned to them; customers none."""
    role = user_role(user=user)
    if role in {Role.ADMIN, Role.ESCALATION_MANAGER}:
        return True
    if role not in {Role.AGENT, Role.TEAM_LEAD}:
        return False
    return ticket.team_id is None or ticket.assignee_id == user.pk or ticket.team_id in team_ids_of(user=user)


def ticket_get_accessible(
    *, user: AbstractBaseUser | AnonymousUser, ticket_id: int, action: TicketAction = TicketAction.VIEW
) -> Ticket:
    """The one loader for a ticket on behalf of a user.

    A ticket the user may not see is reported as missing (404), so ids leak nothing; one they
    may see but not change gives 403 with the reason.
    """
    ticket = ticket_list_accessible(user=user).filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound(f"No ticket with id {ticket_id}.")
    if action == TicketAction.VIEW:
        return ticket
    if action == TicketAction.REPLY and user_role(user=user) == Role.CUSTOMER:
        return ticket
    if not ticket_may_change(user=user, ticket=ticket):
        if user_role(user=user) == Role.CUSTOMER:
            raise PermissionDenied("Customers reply to their tickets; the support team changes them.")
        # Agents and leads may change tickets without a team, so this ticket has one.
        team = ticket.team.name if ticket.team else ""
        raise PermissionDenied(f"Only agents of {team}, its assignee, escalation managers and admins change this ticket.")
    return ticket


@dataclass(frozen=True)
class TicketFilters:
    status: Sequence[str] | None = None
    priority: Sequence[str] | None = None
    severity: Sequence[str] | None = None
    channel: Sequence[str] | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    is_unassigned: bool | None = None
    organization_id: int | None = None
    requester_id: int | None = None
    category: str | None = None
    tag: str | None = None
    query: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def ticket_filter(tickets: QuerySet[Ticket], filters: TicketFilters) -> QuerySet[Ticket]:
    if filters.status:
        tickets = tickets.filter(status__in=filters.status)
    if filters.priority:
        tickets = tickets.filter(priority__in=filters.priority)
    if filters.severity:
        tickets = tickets.filter(severity__in=filters.severity)
    if filters.channel:
        tickets = tickets.filter(channel__in=filters.channel)
    if filters.team_id is not None:
        tickets = tickets.filter(team_id=filters.team_id)
    if filters.assignee_id is not None:
        tickets = tickets.filter(assignee_id=filters.assignee_id)
    if filters.is_unassigned:
        tickets = tickets.filter(assignee__isnull=True)
    if filters.organization_id is not None:
        tickets = tickets.filter(organization_id=filters.organization_id)
    if filters.requester_id is not None:
        tickets = tickets.filter(requester_id=filters.requester_id)
    if filters.category:
        tickets = tickets.filter(category__slug=filters.category)
    if filters.tag:
        tickets = tickets.filter(tags__name=filters.tag.strip().lower())
    if filters.query:
        q = filters.query.strip()
        by_text = Q(subject__icontains=q) | Q(requester__email__icontains=q) | Q(requester__name__icontains=q)
        # "#1042" or "1042" also finds that ticket number (ASCII digits only: "²".isdigit() is true).
        number = _TICKET_NUMBER.fullmatch(q)
        tickets = tickets.filter(by_text | Q(number=int(number.group(1)))) if number else tickets.filter(by_text)
    if filters.created_after is not None:
        tickets = tickets.filter(created_at__gte=filters.created_after)
    if filters.created_before is not None:
        tickets = tickets.filter(created_at__lt=filters.created_before)
    return tickets


def message_list_visible(*, user: AbstractBaseUser | AnonymousUser, ticket: Ticket) -> QuerySet[Message]:
    """The thread as this user may read it: customers never see internal notes."""
    messages = Message.objects.filter(ticket=ticket).select_related("author_user", "author_contact").order_by("created_at", "pk")
    if user_role(user=user) == Role.CUSTOMER:
        messages = messages.filter(visibility=Visibility.PUBLIC)
    return messages


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("name")


def category_by_slug(slug: str | None) -> Category | None:
    """The category a client named, or a field error saying which ones exist."""
    if not slug:
        return None
    category = Category.objects.filter(slug=slug).first()
    if category is None:
        known = ", ".join(Category.objects.order_by("slug").values_list("slug", flat=True)) or "none yet"
        raise ValidationFailed.one("category", f"No category {slug!r}; known: {known}.")
    return category


def assignment_targets(*, team_id: int | None, assignee_id: int | None) -> tuple[Team | None, User | None]:
    """The team and agent a client named by id, or field errors naming the missing ones."""
    errors: dict[str, str] = {}
    team = Team.objects.filter(pk=team_id).first() if team_id is not None else None
    if team_id is not None and team is None:
        errors["team_id"] = f"No team with id {team_id}."
    assignee = User.objects.filter(pk=assignee_id, agent_profile__isnull=False).first() if assignee_id is not None else None
    if assignee_id is not None and assignee is None:
        errors["assignee_id"] = f"No agent with id {assignee_id}."
    if errors:
        raise ValidationFailed(errors)
    return team, assignee
