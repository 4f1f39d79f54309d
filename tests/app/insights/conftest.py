"""The hand-built week of tests/app/insights/test_reports.py, shared with the page tests."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from escalada.desk import escalate as escalating
from escalada.desk import verbs
from escalada.escalations import configuration, records
from escalada.insights.filters import ReportFilter
from escalada.insights.services import rollup_catch_up
from escalada.tickets.models import Ticket
from escalada.tickets.services import ticket_rate
from tests.app.conftest import World
from tests.app.factories import AgentFactory, UserFactory
from tests.app.sla.scenario import berlin, berlin_calendar, standard_policy

NOTE = "Customer's balance is off by the last invoice; checked the account, needs billing."
WEEK = ReportFilter(start=date(2026, 12, 7), end=date(2026, 12, 13))


def catch_up() -> None:
    while rollup_catch_up():
        pass


def _open(world: World, *, team: Any, channel: str, priority: str, contact: Any) -> Ticket:
    return verbs.ticket_open(
        subject="Balance wrong",
        description="My balance is wrong.",
        requester=contact,
        channel=channel,
        actor=None,
        priority=priority,
        team=team,
        now=berlin(7, 10, 0, month=12),
    )


@pytest.fixture
def week(world: World) -> dict[str, Ticket]:
    configuration.default_lists_ensure()
    standard_policy(berlin_calendar())
    AgentFactory.create(user=UserFactory.create(username="lee"), teams=[world.support], tier=2)
    AgentFactory.create(user=UserFactory.create(username="flo"), teams=[world.finance], tier=2)
    sam, fin, morgan = world.sam.user, world.fin.user, world.morgan.user

    t1 = _open(world, team=world.support, channel="email", priority="high", contact=world.ana)
    verbs.ticket_reply(ticket=t1, actor=sam, body="Fixed: the balance is corrected.", now=berlin(7, 10, 30, month=12))
    verbs.ticket_change_status(ticket=t1, status="solved", actor=sam, now=berlin(7, 11, 0, month=12))
    ticket_rate(ticket=Ticket.objects.get(pk=t1.pk), contact=world.ana, score=5, comment="", now=berlin(7, 11, 30, month=12))

    t2 = _open(world, team=world.support, channel="web", priority="high", contact=world.ana)
    verbs.ticket_reply(ticket=t2, actor=sam, body="Looking into it.", now=berlin(7, 12, 0, month=12))
    up = escalating.escalate(
        ticket=t2,
        actor=sam,
        request=escalating.EscalateRequest(reason="technical-expertise-needed", handoff_note=NOTE),
        now=berlin(7, 12, 10, month=12),
    )
    escalating.de_escalate(escalation=up, actor=morgan, note="Back to L1: a known fix.", now=berlin(7, 13, 10, month=12))
    verbs.ticket_change_status(ticket=Ticket.objects.get(pk=t2.pk), status="solved", actor=sam, now=berlin(7, 14, 0, month=12))
    ticket_rate(ticket=Ticket.objects.get(pk=t2.pk), contact=world.ana, score=2, comment="slow", now=berlin(7, 14, 30, month=12))

    t3 = _open(world, team=world.finance, channel="email", priority="normal", contact=world.bob)
    finance = escalating.escalate(
        ticket=t3,
        actor=fin,
        request=escalating.EscalateRequest(reason="lack-of-progress", handoff_note=NOTE),
        now=berlin(7, 11, 0, month=12),
    )
    records.root_cause_save(
        escalation=finance,
        data={
            "category": "product-defect",
            "description": "Rounding in invoice totals.",
            "corrective_action": "Credit note.",
            "preventive_action": "Fix and test the rounding.",
            "owning_team_id": world.finance.pk,
            "customer_summary": "A rounding defect in invoice totals.",
        },
        actor=fin,
        now=berlin(7, 12, 30, month=12),
    )
    escalating.resolve(escalation=finance, actor=fin, now=berlin(7, 13, 0, month=12))
    ticket_rate(ticket=Ticket.objects.get(pk=t3.pk), contact=world.bob, score=4, comment="", now=berlin(7, 13, 30, month=12))
    verbs.ticket_reply(
        ticket=Ticket.objects.get(pk=t3.pk), actor=world.bob_user, body="Still wrong.", now=berlin(7, 15, 0, month=12)
    )
    catch_up()
    return {"t1": t1, "t2": t2, "t3": t3}
