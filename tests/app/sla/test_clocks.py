"""The clock rules, driven through the desk verbs as every face drives them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from escalada.audit.models import Event
from escalada.desk import verbs
from escalada.sla import services
from escalada.sla.models import Clock, TicketPolicy
from escalada.tickets.models import Ticket
from tests.app.conftest import World
from tests.app.sla.scenario import berlin, berlin_calendar, clock, minutes, open_ticket, standard_policy, targets

pytestmark = pytest.mark.django_db


def kinds(ticket: Ticket) -> list[str]:
    return list(Event.objects.filter(subject_type="ticket", subject_id=ticket.pk).order_by("seq").values_list("kind", flat=True))


def states(ticket: Ticket) -> list[tuple[str, int, str]]:
    return list(Clock.objects.filter(ticket=ticket).order_by("metric", "cycle").values_list("metric", "cycle", "state"))


def test_a_new_ticket_starts_first_response_and_resolution_on_the_matching_policy(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 10))  # Monday 10:00, high
    first, resolution = clock(ticket, "first_response"), clock(ticket, "resolution")
    assert (first.state, first.started_at, first.due_at, first.warn_at) == (
        "running",
        berlin(23, 10),
        berlin(23, 11),
        berlin(23, 10, 45),
    )
    assert first.next_fire_at == berlin(23, 10, 45)
    # 8 business hours: 7 on Monday, 1 on Tuesday; the warning at 75 % = 6 h.
    assert (resolution.due_at, resolution.warn_at, resolution.target_us) == (berlin(24, 10), berlin(23, 16), minutes(480))
    binding = TicketPolicy.objects.get(ticket=ticket)
    assert (binding.policy_name, binding.reason) == ("Standard", "matched: no conditions (the default policy)")
    assert kinds(ticket) == ["ticket.created", "sla.policy_applied"]
    assert not Clock.objects.filter(ticket=ticket, metric="next_response").exists()


def test_only_a_public_agent_reply_fulfils_a_response_metric(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 10))
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="Any news?", now=berlin(23, 10, 10))
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Checking", visibility="internal", now=berlin(23, 10, 20))
    assert clock(ticket, "first_response").state == "running"
    assert not Clock.objects.filter(ticket=ticket, metric="next_response").exists()  # no agent reply yet
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Looking into it.", now=berlin(23, 10, 30))
    first = clock(ticket, "first_response")
    assert (first.state, first.fulfilled_at, first.breached_at, first.consumed_us, first.next_fire_at) == (
        "fulfilled",
        berlin(23, 10, 30),
        None,
        minutes(30),
        None,
    )
    assert clock(ticket, "resolution").state == "running"


def test_next_response_runs_one_cycle_per_customer_turn_and_keeps_history(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 10))
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Hello", now=berlin(23, 10, 30))
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="Still wrong", now=berlin(23, 11))
    cycle1 = clock(ticket, "next_response", 1)
    assert (cycle1.state, cycle1.started_at, cycle1.due_at) == ("running", berlin(23, 11), berlin(23, 11, 30))
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="Hello?", now=berlin(23, 11, 5))
    assert Clock.objects.filter(ticket=ticket, metric="next_response").count() == 1  # one runs at a time
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Fixed", now=berlin(23, 11, 20))
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="Thanks, one more thing", now=berlin(23, 12))
    assert states(ticket) == [
        ("first_response", 1, "fulfilled"),
        ("next_response", 1, "fulfilled"),
        ("next_response", 2, "running"),
        ("resolution", 1, "running"),
    ]
    assert clock(ticket, "next_response", 1).fulfilled_at == berlin(23, 11, 20)
    assert clock(ticket, "next_response", 2).due_at == berlin(23, 12, 30)


def test_pending_pauses_resolution_over_the_weekend_and_the_customer_resumes_it(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(27, 15))  # Friday 15:00
    verbs.ticket_reply(
        ticket=ticket, actor=world.sam.user, body="Can you send the invoice?", status="pending", now=berlin(27, 16)
    )
    paused = clock(ticket, "resolution")
    assert (paused.state, paused.consumed_us, paused.due_at, paused.next_fire_at, paused.paused_at) == (
        "paused",
        minutes(60),
        None,
        None,
        berlin(27, 16),
    )
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="Attached.", now=berlin(30, 10))  # Monday 10:00
    ticket.refresh_from_db()
    resumed = clock(ticket, "resolution")
    # 7 h left from Monday 10:00 run out at 17:00, a closing time: due at Tuesday's opening.
    assert (ticket.status, resumed.state, resumed.consumed_us, resumed.due_at, resumed.paused_at) == (
        "open",
        "running",
        minutes(60),
        datetime(2026, 12, 1, 8, tzinfo=UTC),
        None,
    )
    assert clock(ticket, "next_response").due_at == berlin(30, 10, 30)
    assert kinds(ticket)[-2:] == ["ticket.replied", "sla.clocks_updated"]


def test_on_hold_pauses_and_open_resumes_by_status_change(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 9))
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Asked the bank", now=berlin(23, 10))
    verbs.ticket_change_status(ticket=ticket, status="on_hold", actor=world.sam.user, now=berlin(23, 12))
    assert clock(ticket, "resolution").state == "paused"
    verbs.ticket_change_status(ticket=ticket, status="open", actor=world.sam.user, now=berlin(25, 9))
    resumed = clock(ticket, "resolution")
    assert (resumed.state, resumed.consumed_us, resumed.due_at) == ("running", minutes(180), berlin(25, 14))


def test_solving_fulfils_and_a_reopen_resumes_with_the_time_already_used(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 9))
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Hi", now=berlin(23, 10))
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="More", now=berlin(23, 11))
    verbs.ticket_change_status(ticket=ticket, status="solved", actor=world.sam.user, now=berlin(23, 12))
    assert states(ticket) == [
        ("first_response", 1, "fulfilled"),
        ("next_response", 1, "fulfilled"),
        ("resolution", 1, "fulfilled"),
    ]
    assert clock(ticket, "resolution").consumed_us == minutes(180)
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="Still wrong on the new invoice", now=berlin(26, 16))
    ticket.refresh_from_db()
    resolution = clock(ticket, "resolution")
    # 300 min left from Thursday 16:00: 60 on Thursday, 240 on Friday.
    assert (ticket.status, ticket.reopen_count) == ("open", 1)
    assert (resolution.state, resolution.consumed_us, resolution.due_at, resolution.fulfilled_at) == (
        "running",
        minutes(180),
        berlin(27, 13),
        None,
    )
    assert clock(ticket, "next_response", 2).due_at == berlin(26, 16, 30)


def test_a_priority_change_retargets_from_the_original_start(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 10), priority="normal")
    assert clock(ticket, "first_response").due_at == berlin(23, 14)
    verbs.ticket_update(ticket=ticket, changes={"priority": "urgent"}, actor=world.sam.user, now=berlin(23, 10, 20))
    first, resolution = clock(ticket, "first_response"), clock(ticket, "resolution")
    assert (first.state, first.due_at, first.started_at) == ("running", berlin(23, 10, 30), berlin(23, 10))
    assert resolution.due_at == berlin(23, 14)
    event = Event.objects.filter(subject_id=ticket.pk, kind="sla.policy_applied").order_by("-seq").first()
    assert event is not None
    assert event.before["clocks"]["first_response#1"]["due_at"] == "2026-11-23T13:00:00Z"
    assert event.after["clocks"]["first_response#1"]["due_at"] == "2026-11-23T09:30:00Z"
    assert event.after["reason"] == "matched: no conditions (the default policy)"


def test_a_stricter_target_already_used_up_is_breached_at_the_instant_it_ran_out(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 10), priority="normal")
    verbs.ticket_update(ticket=ticket, changes={"priority": "urgent"}, actor=world.sam.user, now=berlin(23, 11))
    first = clock(ticket, "first_response")
    assert (first.state, first.breached_at, first.due_at, first.next_fire_at) == ("breached", berlin(23, 10, 30), None, None)


def test_rematch_moves_to_a_ranked_policy_and_says_why(world: World) -> None:
    calendar = berlin_calendar()
    standard_policy(calendar)
    services.policy_create(
        data={
            "name": "Urgent around the clock",
            "rank": 10,
            "conditions": [{"field": "priority", "operator": "is", "value": "urgent"}],
            "is_business_time": False,
            "calendar": None,
            "targets": targets("urgent", 30, 240),
        },
        actor=None,
    )
    ticket = open_ticket(world, berlin(23, 16, 50), priority="normal")
    verbs.ticket_update(ticket=ticket, changes={"priority": "urgent"}, actor=world.sam.user, now=berlin(23, 16, 55))
    binding = TicketPolicy.objects.get(ticket=ticket)
    assert (binding.policy_name, binding.reason) == ("Urgent around the clock", "matched: priority=urgent")
    first, resolution = clock(ticket, "first_response"), clock(ticket, "resolution")
    assert (first.calendar_id, first.due_at, resolution.due_at) == (None, berlin(23, 17, 20), berlin(23, 20, 50))


def test_a_priority_without_targets_stops_the_clocks_and_the_event_keeps_them(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 10))
    verbs.ticket_update(ticket=ticket, changes={"priority": "low"}, actor=world.sam.user, now=berlin(23, 10, 5))
    assert states(ticket) == []
    event = Event.objects.filter(subject_id=ticket.pk, kind="sla.policy_applied").order_by("-seq").first()
    assert event is not None
    assert event.after["clocks"] == {"first_response#1": None, "resolution#1": None}
    assert event.before["clocks"]["resolution#1"]["state"] == "running"


def test_no_policy_no_clocks_and_no_sla_event(world: World) -> None:
    ticket = open_ticket(world, berlin(23, 10))
    assert states(ticket) == []
    assert kinds(ticket) == ["ticket.created"]
    assert TicketPolicy.objects.get(ticket=ticket).policy_id is None


def test_customer_hours_are_used_when_the_policy_says_so(world: World) -> None:
    office = berlin_calendar()
    late_shift = services.calendar_create(
        data={"name": "Northwind hours", "time_zone": "America/New_York", "weekly": {"mon": [["09:00", "17:00"]]}},
        actor=None,
    )
    services.hours_link(calendar=late_shift, organization=world.northwind, actor=None)
    standard_policy(office, hours_source="organization")
    ticket = open_ticket(world, berlin(23, 10))  # 04:00 in New York: counting starts at 09:00 there
    first = clock(ticket, "first_response")
    assert (first.calendar_id, first.due_at) == (late_shift.pk, datetime(2026, 11, 23, 15, tzinfo=UTC))


def test_a_metric_gained_late_is_breached_at_its_instant_with_its_event(world: World) -> None:
    standard_policy(berlin_calendar())  # no targets for low
    ticket = open_ticket(world, berlin(23, 9), priority="low")
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Invoice?", status="pending", now=berlin(23, 10))
    verbs.ticket_update(ticket=ticket, changes={"priority": "urgent"}, actor=world.sam.user, now=berlin(24, 12))
    resolution = clock(ticket, "resolution")
    # 240 business minutes from Monday 09:00 ran out at 13:00; the clock is then paused (pending).
    assert (resolution.state, resolution.breached_at, resolution.next_fire_at) == ("paused", berlin(23, 13), None)
    breaches = Event.objects.filter(subject_id=ticket.pk, kind="sla.breached").values_list("after", flat=True)
    assert [(b["metric"], b["due_at"]) for b in breaches] == [("resolution", "2026-11-23T12:00:00Z")]
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="Attached", now=berlin(24, 13))
    assert (clock(ticket, "resolution").state, clock(ticket, "resolution").breached_at) == ("breached", berlin(23, 13))


def test_a_rematch_records_what_was_due_before_it_moves_the_clock(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 9))  # high: first response due 10:00
    verbs.ticket_update(ticket=ticket, changes={"priority": "normal"}, actor=world.sam.user, now=berlin(23, 10, 30))
    assert kinds(ticket)[-4:] == ["ticket.updated", "sla.warning", "sla.breached", "sla.policy_applied"]
    first = clock(ticket, "first_response")
    assert (first.state, first.due_at, first.breached_at) == ("running", berlin(23, 13), None)  # 4 h from 09:00


def test_a_stricter_target_already_used_up_records_the_breach(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 9), priority="normal")
    verbs.ticket_update(ticket=ticket, changes={"priority": "urgent"}, actor=world.sam.user, now=berlin(23, 10))
    breaches = Event.objects.filter(subject_id=ticket.pk, kind="sla.breached").values_list("after", flat=True)
    assert [(b["metric"], b["due_at"]) for b in breaches] == [("first_response", "2026-11-23T08:30:00Z")]


def test_next_response_restarts_after_a_rematch_while_the_customer_waits(world: World) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 9))
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Hi", now=berlin(23, 9, 10))
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="?", now=berlin(23, 9, 20))
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Hi", now=berlin(23, 9, 25))
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="??", now=berlin(23, 9, 30))
    verbs.ticket_update(ticket=ticket, changes={"priority": "low"}, actor=world.sam.user, now=berlin(23, 9, 35))
    assert states(ticket) == [("first_response", 1, "fulfilled"), ("next_response", 1, "fulfilled")]
    verbs.ticket_update(ticket=ticket, changes={"priority": "high"}, actor=world.sam.user, now=berlin(23, 9, 40))
    waiting = clock(ticket, "next_response", 2)
    assert (waiting.state, waiting.started_at, waiting.due_at) == ("running", berlin(23, 9, 30), berlin(23, 10))
