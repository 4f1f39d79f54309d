"""What people and channels do to a ticket, across areas: the ticket's own change, then the SLA
clocks it moves — in one transaction. Every face (API, pages, inbound mail, the demo, later the
workers) calls these, never the areas' services directly for these actions.

Each verb takes `now` (default: the current time) so the ticket's event and the clocks' event
carry the same instant.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from escalada.accounts.models import Role, Team
from escalada.accounts.selectors import user_role
from escalada.base.errors import ValidationFailed
from escalada.customers.models import Contact
from escalada.customers.selectors import contact_of
from escalada.desk import escalate as escalating
from escalada.escalations import runs
from escalada.notifications import internal
from escalada.notifications import services as notifications
from escalada.sla import clocks
from escalada.sla.models import TicketPolicy
from escalada.tickets import services as tickets
from escalada.tickets.models import Category, Message, Priority, Severity, Status, Ticket, Visibility

# What policy conditions read: a change to one of these re-matches the ticket's SLA policy.
MATCHED_FIELDS = frozenset({"priority", "severity", "category", "tags"})


@transaction.atomic
def ticket_open(
    *,
    subject: str,
    description: str | None,
    requester: Contact,
    channel: str,
    actor: User | None,
    description_html: str | None = None,
    priority: str = Priority.NORMAL,
    severity: str = Severity.SEV3,
    category: Category | None = None,
    team: Team | None = None,
    assignee: User | None = None,
    tags: list[str] | None = None,
    external_message_id: str | None = None,
    follow_up_of: Ticket | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A new ticket from any channel, on the SLA policy that matches it, its clocks started."""
    at = now or timezone.now()
    ticket = tickets.ticket_create(
        subject=subject,
        description=description,
        description_html=description_html,
        requester=requester,
        channel=channel,
        actor=actor,
        priority=priority,
        severity=severity,
        category=category,
        team=team,
        assignee=assignee,
        tags=tags,
        external_message_id=external_message_id,
        follow_up_of=follow_up_of,
        now=at,
    )
    clocks.ticket_sla_start(ticket=ticket, actor=actor, now=at)
    runs.run_sync(ticket=ticket, now=at)
    notifications.customer_notify_received(ticket=ticket, now=at)
    internal.announce(kind="ticket.created", data=notifications.ticket_data(ticket), ticket=ticket, now=at)
    return ticket


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    actor: User | None,
    body: str | None,
    body_html: str | None = None,
    visibility: str = Visibility.PUBLIC,
    channel: str = "web",
    status: str | None = None,
    author_contact: Contact | None = None,
    external_message_id: str | None = None,
    now: datetime | None = None,
) -> Message:
    """A public reply or an internal note. A public agent reply fulfils the response clocks; a
    customer message starts the next response clock; the status it implies pauses, resumes,
    fulfils or reopens the rest."""
    at = now or timezone.now()
    ticket = _locked(ticket)
    before_status = ticket.status
    is_customer = author_contact is not None or (actor is not None and user_role(user=actor) == Role.CUSTOMER)
    if is_customer and reopen_window_passed(ticket=ticket, now=at):
        # Past the reopen window (or closed): the customer's words start a linked follow-up.
        contact = author_contact or (contact_of(user=actor) if actor is not None else None) or ticket.requester
        follow_up = ticket_follow_up(
            ticket=ticket,
            body=body,
            body_html=body_html,
            author_contact=contact,
            channel=channel,
            actor=actor,
            external_message_id=external_message_id,
            now=at,
        )
        first = Message.objects.filter(ticket=follow_up).order_by("pk").first()
        assert first is not None
        return first
    _refuse_solving_escalated(ticket, status)
    message = tickets.ticket_reply(
        ticket=ticket,
        actor=actor,
        body=body,
        body_html=body_html,
        visibility=visibility,
        channel=channel,
        status=status,
        author_contact=author_contact,
        external_message_id=external_message_id,
        now=at,
    )
    fresh = message.ticket
    message_by = None
    if message.visibility == Visibility.PUBLIC:
        message_by = "customer" if is_customer else "agent"
    clocks.ticket_sla_sync(ticket=fresh, before_status=before_status, message_by=message_by, actor=actor, now=at)
    runs.run_sync(ticket=fresh, now=at)
    if message_by == "agent":
        notifications.customer_notify_reply(ticket=fresh, message=message, now=at)
    if is_customer and before_status == Status.SOLVED and fresh.status != Status.SOLVED:
        escalating.on_customer_reopen(ticket=fresh, now=at)
    elif not is_customer and actor is not None:
        escalating.responded(ticket=fresh, user=actor, now=at)
    data = {**notifications.ticket_data(fresh), "message_id": message.pk, "author": message_by or "agent"}
    kind = "ticket.note_added" if message_by is None else "ticket.replied"
    internal.announce(kind=kind, data=data, ticket=fresh, now=at)
    _after_status(fresh, before_status, at)
    return message


@transaction.atomic
def ticket_change_status(
    *, ticket: Ticket, status: str, actor: User | None, now: datetime | None = None, resolution_summary: str = ""
) -> Ticket:
    """Move the ticket along its workflow; the clocks pause, resume, are fulfilled or reopen.
    `resolution_summary` (an escalation's root cause in customer words) goes into the solved mail."""
    at = now or timezone.now()
    ticket = _locked(ticket)
    before_status = ticket.status
    _refuse_solving_escalated(ticket, status)
    ticket = tickets.ticket_change_status(ticket=ticket, status=status, actor=actor, now=at)
    clocks.ticket_sla_sync(ticket=ticket, before_status=before_status, message_by=None, actor=actor, now=at)
    runs.run_sync(ticket=ticket, now=at)
    _after_status(ticket, before_status, at, resolution_summary=resolution_summary)
    return ticket


@transaction.atomic
def ticket_update(*, ticket: Ticket, changes: tickets.TicketChanges, actor: User | None, now: datetime | None = None) -> Ticket:
    """Change the ticket's properties; when a policy condition reads one of them, the SLA policy
    is matched again and the clocks re-targeted from their start."""
    at = now or timezone.now()
    ticket = _locked(ticket)
    before = {name: _value(ticket, name) for name in changes}
    ticket = tickets.ticket_update(ticket=ticket, changes=changes, actor=actor, now=at)
    changed = {name for name in changes if _value(ticket, name) != before[name]}
    if changed & MATCHED_FIELDS:
        clocks.ticket_sla_rematch(ticket=ticket, actor=actor, now=at)
        runs.run_sync(ticket=ticket, now=at)
    if changed:
        data = {**notifications.ticket_data(ticket), "changed": sorted(changed)}
        internal.announce(kind="ticket.updated", data=data, ticket=ticket, now=at)
    return ticket


@transaction.atomic
def ticket_assign(
    *, ticket: Ticket, team: Team | None, assignee: User | None, actor: User | None, now: datetime | None = None
) -> Ticket:
    """Set team and assignee; a new team may mean another policy (conditions on team) or other
    business hours (policies counting in the team's hours)."""
    at = now or timezone.now()
    ticket = _locked(ticket)
    before_team, before_assignee = ticket.team_id, ticket.assignee_id
    ticket = tickets.ticket_assign(ticket=ticket, team=team, assignee=assignee, actor=actor, now=at)
    if ticket.team_id != before_team:
        clocks.ticket_sla_rematch(ticket=ticket, actor=actor, now=at)
        runs.run_sync(ticket=ticket, now=at)
    if (ticket.team_id, ticket.assignee_id) != (before_team, before_assignee):
        internal.announce(kind="ticket.assigned", data=notifications.ticket_data(ticket), ticket=ticket, now=at)
    return ticket


def _after_status(ticket: Ticket, before_status: str, at: datetime, *, resolution_summary: str = "") -> None:
    """Tell the customer a ticket was solved, and subscribers that its status moved."""
    if ticket.status == before_status:
        return
    if ticket.status == Status.SOLVED:
        notifications.customer_notify_solved(ticket=ticket, now=at, resolution_summary=resolution_summary)
    data = {**notifications.ticket_data(ticket), "previous_status": before_status}
    internal.announce(kind="ticket.status_changed", data=data, ticket=ticket, now=at)


def _refuse_solving_escalated(ticket: Ticket, status: str | None) -> None:
    """An escalated ticket is solved by resolving its escalation, which needs the root cause."""
    if status in (Status.SOLVED, Status.CLOSED) and ticket.status != status:
        problem = escalating.open_escalation_problem(ticket)
        if problem:
            raise ValidationFailed.one("status", problem)


def reopen_window_passed(*, ticket: Ticket, now: datetime) -> bool:
    """True when a customer's message should open a follow-up instead of reopening: the ticket
    is closed, or solved longer ago than its policy's reopen window (7 days without a policy)."""
    if ticket.status == Status.CLOSED:
        return True
    if ticket.status != Status.SOLVED or ticket.solved_at is None:
        return False
    binding = TicketPolicy.objects.filter(ticket=ticket).select_related("policy").first()
    days = binding.policy.reopen_window_days if binding is not None and binding.policy is not None else 7
    return now - ticket.solved_at > timedelta(days=days)


@transaction.atomic
def ticket_follow_up(
    *,
    ticket: Ticket,
    body: str | None,
    body_html: str | None = None,
    author_contact: Contact,
    channel: str,
    actor: User | None,
    external_message_id: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """The customer wrote after the reopen window: a new ticket, linked to the old one."""
    subject = f"Follow-up to #{ticket.number}: {ticket.subject}"[:250]
    return ticket_open(
        subject=subject,
        description=body,
        description_html=body_html,
        requester=author_contact,
        channel=channel,
        actor=actor,
        category=ticket.category,
        priority=ticket.priority,
        external_message_id=external_message_id,
        follow_up_of=ticket,
        now=now,
    )


def _locked(ticket: Ticket) -> Ticket:
    """The ticket as it is now, locked for this transaction: what the SLA compares against is
    the state before this change, not whatever the caller loaded earlier."""
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _value(ticket: Ticket, name: str) -> object:
    if name == "category":
        return ticket.category_id
    if name == "tags":
        return sorted(ticket.tags.values_list("name", flat=True))
    return getattr(ticket, name)
