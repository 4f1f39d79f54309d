"""The rollups equal a direct computation from the raw rows after any sequence of ticket events.

Hypothesis drives the desk verbs (open, replies, solve, escalate, de-escalate, move team, change
priority, rate, the SLA timer) and runs the rollup consumer at random points; the expected sums
are computed here from tickets, clocks, escalations and ratings by separate code.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalada.base.errors import ServiceError
from escalada.desk import escalate as escalating
from escalada.desk import verbs
from escalada.escalations import configuration
from escalada.escalations.models import ACTIVE_STATUSES, Escalation
from escalada.insights.facts import report_day
from escalada.insights.models import EscalationRollup, OpenTicketCount, TicketFact, TicketRollup
from escalada.insights.services import rollup_catch_up, rollup_rebuild
from escalada.sla.clocks import sla_fire_due
from escalada.sla.models import Clock
from escalada.tickets.models import SatisfactionRating, Ticket
from escalada.tickets.services import TicketChanges, ticket_rate
from tests.app.conftest import World
from tests.app.sla.scenario import berlin, berlin_calendar, standard_policy

pytestmark = pytest.mark.django_db

NOTE = "Checked the account and the last invoice; this needs the next level."
MEASURES = ["tickets", "solved", "reopened", "reopens", "escalated", "escalations", "fcr", "ever_solved"]
MEASURES += [f"{p}_{m}" for p in ("fr", "nr", "res") for m in ("met", "breached")]
MEASURES += ["csat_n", "csat_sum", "csat_esc_n"]

steps = st.lists(
    st.tuples(
        st.sampled_from(
            ["open", "agent", "customer", "solve", "escalate", "de_escalate", "move", "priority", "rate", "timer", "catch_up"]
        ),
        st.integers(min_value=0, max_value=7),
        st.integers(min_value=1, max_value=5),
    ),
    min_size=1,
    max_size=25,
)


def _catch_up() -> None:
    while rollup_catch_up():
        pass


def _apply(world: World, step: tuple[str, int, int], tickets: list[Ticket], at: Any) -> None:
    kind, index, value = step
    people = [world.ana, world.bob]
    if kind == "open" or not tickets:
        tickets.append(
            verbs.ticket_open(
                subject="Invoice total wrong",
                description="The total is off.",
                requester=people[value % 2],
                channel=["email", "web", "chat"][value % 3],
                actor=None,
                priority=["high", "normal", "urgent"][value % 3],
                team=[world.support, world.finance][index % 2],
                now=at,
            )
        )
        return
    ticket = Ticket.objects.get(pk=tickets[index % len(tickets)].pk)
    contact = world.ana if ticket.requester_id == world.ana.pk else world.bob
    user = world.ana_user if contact == world.ana else world.bob_user
    agent = world.sam.user if ticket.team_id == world.support.pk else world.fin.user
    if kind == "agent":
        verbs.ticket_reply(ticket=ticket, actor=agent, body="Here is what we found.", now=at)
    elif kind == "customer":
        verbs.ticket_reply(ticket=ticket, actor=user, body="Still wrong.", now=at)
    elif kind == "solve":
        verbs.ticket_change_status(ticket=ticket, status="solved", actor=world.morgan.user, now=at)
    elif kind == "escalate":
        escalating.escalate(
            ticket=ticket,
            actor=world.morgan.user,
            request=escalating.EscalateRequest(reason=["lack-of-progress", "sla-breach"][value % 2], handoff_note=NOTE),
            now=at,
        )
    elif kind == "de_escalate":
        active = Escalation.objects.filter(ticket=ticket, status__in=ACTIVE_STATUSES).first()
        if active is not None:
            escalating.de_escalate(escalation=active, actor=world.morgan.user, note="Back to the team.", now=at)
    elif kind == "move":
        other = world.finance if ticket.team_id == world.support.pk else world.support
        verbs.ticket_assign(ticket=ticket, team=other, assignee=None, actor=world.morgan.user, now=at)
    elif kind == "priority":
        verbs.ticket_update(
            ticket=ticket, changes=TicketChanges(priority=["low", "normal", "high"][value % 3]), actor=world.morgan.user, now=at
        )
    elif kind == "rate":
        ticket_rate(ticket=ticket, contact=contact, score=value, comment="", now=at)
    elif kind == "timer":
        sla_fire_due(now=at)
    elif kind == "catch_up":
        _catch_up()


def _expected() -> tuple[dict[tuple[Any, ...], Counter[str]], Counter[tuple[Any, ...]]]:
    """The ticket rollup's measures and the escalation rollup's counts, from the raw rows."""
    by_key: dict[tuple[Any, ...], Counter[str]] = {}
    escalations: Counter[tuple[Any, ...]] = Counter()
    for ticket in Ticket.objects.select_related("organization", "sla_binding"):
        binding = getattr(ticket, "sla_binding", None)
        key = (
            report_day(ticket.created_at),
            ticket.team_id or 0,
            ticket.category_id or 0,
            ticket.channel,
            ticket.priority,
            ticket.severity,
            ticket.organization.tier if ticket.organization else "",
            binding.policy_id if binding and binding.policy_id else 0,
        )
        own = list(Escalation.objects.filter(ticket=ticket))
        is_solved = ticket.status in ("solved", "closed")
        public_replies = ticket.messages.filter(visibility="public", author_contact__isnull=True).count()
        ratings = list(SatisfactionRating.objects.filter(ticket=ticket).values_list("score", flat=True))
        m = by_key.setdefault(key, Counter())
        m["tickets"] += 1
        m["solved"] += is_solved
        m["reopened"] += ticket.reopen_count > 0
        m["reopens"] += ticket.reopen_count
        m["escalated"] += bool(own)
        m["escalations"] += len(own)
        m["fcr"] += is_solved and public_replies <= 1 and ticket.reopen_count == 0 and not own
        m["ever_solved"] += is_solved or ticket.solved_at is not None or ticket.reopen_count > 0
        for clock in Clock.objects.filter(ticket=ticket):
            prefix = {"first_response": "fr", "next_response": "nr", "resolution": "res"}[clock.metric]
            m[f"{prefix}_breached"] += clock.breached_at is not None
            m[f"{prefix}_met"] += clock.breached_at is None and clock.state == "fulfilled"
        m["csat_n"] += len(ratings)
        m["csat_sum"] += sum(ratings)
        m["csat_esc_n"] += len(ratings) if own else 0
        for escalation in own:
            cause = getattr(escalation, "root_cause", None)
            escalations[(*key, escalation.reason_id, cause.category_id if cause and cause.category_id else 0)] += 1
    return by_key, escalations


def _actual(grain: str = "d") -> tuple[dict[tuple[Any, ...], Counter[str]], Counter[tuple[Any, ...]]]:
    keys = ["day", "team_id", "category_id", "channel", "priority", "severity", "org_tier", "policy_id"]
    by_key = {}
    for row in TicketRollup.objects.filter(grain=grain).values(*keys, *MEASURES):
        if row["tickets"]:
            by_key[tuple(row[k] for k in keys)] = Counter({name: row[name] for name in MEASURES})
    escalations: Counter[tuple[Any, ...]] = Counter()
    for row in (
        EscalationRollup.objects.filter(grain=grain).values(*keys, "reason_id", "root_cause_id").annotate(n=Sum("escalations"))
    ):
        if row["n"]:
            escalations[(*(row[k] for k in keys), row["reason_id"], row["root_cause_id"])] = row["n"]
    return by_key, escalations


def _same(expected: dict[tuple[Any, ...], Counter[str]], actual: dict[tuple[Any, ...], Counter[str]]) -> None:
    assert set(expected) == set(actual)
    for key, measures in expected.items():
        assert {name: measures[name] for name in MEASURES} == dict(actual[key]), key


@pytest.fixture
def desk(world: World) -> World:
    configuration.default_lists_ensure()
    standard_policy(berlin_calendar())
    return world


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sequence=steps)
def test_rollups_equal_a_direct_computation(desk: World, sequence: list[tuple[str, int, int]]) -> None:
    # The examples share one database: each adds tickets to what the ones before left.
    world = desk
    tickets: list[Ticket] = []
    at = berlin(7, 9, month=12)
    for step in sequence:
        at += timedelta(minutes=37)
        # A refused verb (solving an escalated ticket, rating twice…) changes nothing.
        with contextlib.suppress(ServiceError):
            _apply(world, step, tickets, at)
    _catch_up()
    expected, expected_escalations = _expected()
    actual, actual_escalations = _actual()
    _same(expected, actual)
    assert actual_escalations == expected_escalations
    # The month grain holds the same sums, by month.
    by_month: dict[tuple[Any, ...], Counter[str]] = {}
    for key, measures in expected.items():
        by_month.setdefault((key[0].replace(day=1), *key[1:]), Counter()).update(measures)
    _same(by_month, _actual("m")[0])
    # The live open-ticket counts equal the open tickets by status, team and assignee.
    open_now = Counter(
        (t.status, t.team_id or 0, t.assignee_id or 0)
        for t in Ticket.objects.filter(status__in=["new", "open", "pending", "on_hold"])
    )
    counted = Counter(
        {
            (s, team, who): n
            for s, team, who, n in OpenTicketCount.objects.values_list("status", "team_id", "assignee_id", "tickets")
            if n
        }
    )
    assert counted == open_now
    assert TicketFact.objects.count() == Ticket.objects.count()
    # A rebuild from scratch lands on the same numbers.
    rollup_rebuild()
    rebuilt, rebuilt_escalations = _actual()
    _same(expected, rebuilt)
    assert rebuilt_escalations == expected_escalations
