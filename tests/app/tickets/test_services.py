"""Every ticket service: its exact effect and exactly one Event; refusals change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from escalada.audit.models import Event
from escalada.base.errors import Conflict, ValidationFailed
from escalada.tickets import services
from escalada.tickets.models import Message, Ticket
from tests.app.conftest import World, database_state
from tests.app.factories import CategoryFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _events(ticket: Ticket) -> list[Event]:
    return list(Event.objects.filter(stream=f"ticket:{ticket.pk}").order_by("seq"))


@contextmanager
def exactly_one_event(ticket: Ticket) -> Iterator[list[Event]]:
    before = Event.objects.filter(stream=f"ticket:{ticket.pk}").count()
    new: list[Event] = []
    yield new
    events = _events(ticket)
    assert len(events) == before + 1
    new.append(events[-1])


@contextmanager
def nothing_changes(ticket: Ticket) -> Iterator[None]:
    before = database_state()
    yield
    assert database_state() == before


def test_create_writes_the_ticket_its_first_message_and_one_event(world: World) -> None:
    category = CategoryFactory.create()
    ticket = services.ticket_create(
        subject="  My account   balance is wrong ",
        description="Since the last invoice.\n\nPlease check.",
        requester=world.ana,
        channel="email",
        priority="high",
        severity="sev2",
        category=category,
        team=world.support,
        assignee=world.sam.user,
        tags=["Invoice", "billing  error", "invoice"],
        actor=world.sam.user,
        now=T0,
    )
    ticket.refresh_from_db()
    assert (ticket.number, ticket.subject, ticket.status, ticket.organization_id) == (
        ticket.pk,
        "My account balance is wrong",
        "new",
        world.northwind.pk,
    )
    assert (ticket.created_at, ticket.updated_at, ticket.last_customer_message_at) == (T0, T0, T0)
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["billing error", "invoice"]
    message = Message.objects.get(ticket=ticket)
    assert (message.author_contact_id, message.visibility, message.body_text) == (
        world.ana.pk,
        "public",
        "Since the last invoice.\n\nPlease check.",
    )
    assert message.body_html == "<p>Since the last invoice.</p><p>Please check.</p>"
    [event] = _events(ticket)
    assert (event.kind, event.actor_id, event.seq, event.occurred_at) == ("ticket.created", world.sam.user.pk, 1, T0)
    assert event.after == {
        "number": ticket.number,
        "subject": "My account balance is wrong",
        "channel": "email",
        "requester_id": world.ana.pk,
        "organization_id": world.northwind.pk,
        "category": "billing",
        "priority": "high",
        "severity": "sev2",
        "status": "new",
        "team_id": world.support.pk,
        "assignee_id": world.sam.user.pk,
        "tags": ["invoice", "billing error"],
        "message_id": message.pk,
    }


def test_create_sanitizes_html_and_keeps_text(world: World) -> None:
    ticket = services.ticket_create(
        subject="XSS",
        description=None,
        description_html='<p onclick="x()">Hi <script>alert(1)</script><b>there</b> <a href="javascript:alert(1)">x</a></p>',
        requester=world.ana,
        channel="web",
        actor=None,
    )
    message = Message.objects.get(ticket=ticket)
    assert message.body_html == '<p>Hi <b>there</b> <a rel="noopener noreferrer nofollow">x</a></p>'
    assert message.body_text == "Hi there x"
    assert ticket.description == "Hi there x"


def test_create_refuses_bad_fields_all_at_once_and_writes_nothing(world: World) -> None:
    counts = (Ticket.objects.count(), Event.objects.count(), Message.objects.count())
    with pytest.raises(ValidationFailed) as caught:
        services.ticket_create(
            subject=" ",
            description="",
            requester=world.ana,
            channel="fax",
            priority="whenever",
            severity="sev9",
            team=world.finance,
            assignee=world.sam.user,
            tags=["<b>"],
            actor=None,
        )
    assert caught.value.errors == {
        "subject": "Give the ticket a subject.",
        "channel": "Channel is one of email, web, chat, phone, social, api.",
        "priority": "Priority is one of urgent, high, normal, low.",
        "severity": "Severity is one of sev1, sev2, sev3, sev4.",
        "assignee_id": "sam is not in team Finance.",
        "description": "Write something; the body is empty.",
        "tags": "'<b>' is not a tag: use up to 50 letters, digits, spaces, - _ . :",
    }
    assert (Ticket.objects.count(), Event.objects.count(), Message.objects.count()) == counts


def test_update_records_only_what_changed(world: World) -> None:
    ticket = world.ticket_a
    with exactly_one_event(ticket) as new:
        services.ticket_update(
            ticket=ticket, changes={"priority": "urgent", "severity": "sev3", "tags": ["vip"]}, actor=world.sam.user, now=T0
        )
    assert (new[0].kind, new[0].before, new[0].after) == (
        "ticket.updated",
        {"priority": "normal", "tags": []},
        {"priority": "urgent", "tags": ["vip"]},
    )
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.updated_at) == ("urgent", T0)


def test_update_with_no_change_writes_no_event(world: World) -> None:
    with nothing_changes(world.ticket_a):
        services.ticket_update(ticket=world.ticket_a, changes={"priority": "normal"}, actor=world.sam.user)


def test_status_change_and_reopen(world: World) -> None:
    ticket = world.ticket_a
    with exactly_one_event(ticket) as solved:
        services.ticket_change_status(ticket=ticket, status="solved", actor=world.sam.user, now=T0)
    assert (solved[0].kind, solved[0].before, solved[0].after) == (
        "ticket.status_changed",
        {"status": "new", "reopen_count": 0},
        {"status": "solved", "reopen_count": 0},
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.solved_at) == ("solved", T0)
    with exactly_one_event(ticket) as reopened:
        services.ticket_change_status(ticket=ticket, status="open", actor=world.sam.user)
    assert (reopened[0].kind, reopened[0].after) == ("ticket.reopened", {"status": "open", "reopen_count": 1})
    ticket.refresh_from_db()
    assert (ticket.status, ticket.reopen_count, ticket.solved_at) == ("open", 1, None)


def test_invalid_status_change_changes_nothing(world: World) -> None:
    with nothing_changes(world.ticket_a), pytest.raises(ValidationFailed) as caught:
        services.ticket_change_status(ticket=world.ticket_a, status="closed", actor=world.sam.user)
    assert caught.value.errors == {"status": "A new ticket can move to on_hold, open, pending, solved, not closed."}


def test_assign_checks_team_membership(world: World) -> None:
    ticket = world.ticket_a
    with exactly_one_event(ticket) as new:
        services.ticket_assign(ticket=ticket, team=world.support, assignee=world.sam.user, actor=world.sam.user)
    assert (new[0].kind, new[0].before, new[0].after) == (
        "ticket.assigned",
        {"team_id": world.support.pk, "assignee_id": None},
        {"team_id": world.support.pk, "assignee_id": world.sam.user.pk},
    )
    with nothing_changes(ticket), pytest.raises(ValidationFailed) as caught:
        services.ticket_assign(ticket=ticket, team=world.finance, assignee=world.sam.user, actor=world.admin)
    assert caught.value.errors == {"assignee_id": "sam is not in team Finance."}


def test_agent_public_reply_opens_a_new_ticket(world: World) -> None:
    ticket = world.ticket_a
    with exactly_one_event(ticket) as new:
        message = services.ticket_reply(ticket=ticket, actor=world.sam.user, body="We are on it.", now=T0)
    assert (new[0].kind, new[0].before, new[0].after) == (
        "ticket.replied",
        {"status": "new"},
        {"message_id": message.pk, "visibility": "public", "author": "agent", "status": "open"},
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.last_agent_reply_at, message.author_user_id) == ("open", T0, world.sam.user.pk)


def test_internal_note_keeps_status_and_reply_timestamps(world: World) -> None:
    ticket = world.ticket_a
    with exactly_one_event(ticket) as new:
        message = services.ticket_reply(ticket=ticket, actor=world.sam.user, body="Check invoice 42.", visibility="internal")
    assert (new[0].kind, new[0].after) == (
        "ticket.note_added",
        {"message_id": message.pk, "visibility": "internal", "author": "agent"},
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.last_agent_reply_at) == ("new", None)


def test_reply_and_set_pending(world: World) -> None:
    services.ticket_reply(ticket=world.ticket_a, actor=world.sam.user, body="Which invoice?", status="pending")
    world.ticket_a.refresh_from_db()
    assert world.ticket_a.status == "pending"


def test_customer_reply_on_solved_ticket_reopens_it(world: World) -> None:
    ticket = world.ticket_a
    services.ticket_change_status(ticket=ticket, status="solved", actor=world.sam.user)
    with exactly_one_event(ticket) as new:
        message = services.ticket_reply(ticket=ticket, actor=world.ana_user, body="Still wrong on the new invoice.", now=T0)
    assert (new[0].kind, new[0].before, new[0].after) == (
        "ticket.replied",
        {"status": "solved", "reopen_count": 0},
        {"message_id": message.pk, "visibility": "public", "author": "customer", "status": "open", "reopen_count": 1},
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.reopen_count, ticket.last_customer_message_at) == ("open", 1, T0)
    assert (message.author_contact_id, message.author_user_id) == (world.ana.pk, None)


def test_customers_cannot_write_internal_notes_or_set_status(world: World) -> None:
    with nothing_changes(world.ticket_a), pytest.raises(ValidationFailed) as caught:
        services.ticket_reply(ticket=world.ticket_a, actor=world.ana_user, body="psst", visibility="internal", status="solved")
    assert caught.value.errors == {
        "visibility": "Customers write public replies only.",
        "status": "Customers cannot set a status.",
    }


def test_a_closed_ticket_takes_no_messages(world: World) -> None:
    ticket = world.ticket_a
    services.ticket_change_status(ticket=ticket, status="solved", actor=world.sam.user)
    services.ticket_change_status(ticket=ticket, status="closed", actor=world.sam.user)
    with nothing_changes(ticket), pytest.raises(Conflict, match="closed"):
        services.ticket_reply(ticket=ticket, actor=world.ana_user, body="Hello?")
