"""The team lead's view: breached and at-risk tickets of the team, load per agent, reassign."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from escalada.desk import verbs
from escalada.tickets.models import Ticket
from tests.app.conftest import World, database_state
from tests.app.factories import AgentFactory, UserFactory
from tests.app.sla.scenario import berlin, berlin_calendar, standard_policy

pytestmark = pytest.mark.django_db


def _lead_client(world: World) -> Client:
    pat = AgentFactory.create(user=UserFactory.create(username="pat"), teams=[world.support], is_team_lead=True)
    client = Client()
    client.force_login(pat.user)
    return client


def _ticket(world: World, subject: str, at: object) -> Ticket:
    return verbs.ticket_open(
        subject=subject,
        description="x",
        requester=world.ana,
        channel="web",
        team=world.support,
        priority="high",
        assignee=world.sam.user,
        actor=None,
        now=at,  # type: ignore[arg-type]
    )


def test_the_lead_sees_breached_and_at_risk_and_reassigns(world: World, web_as: dict[str, Client]) -> None:
    import time_machine

    standard_policy(berlin_calendar())
    with time_machine.travel(berlin(23, 9), tick=False):
        _ticket(world, "Breached one", berlin(20, 9))  # Friday: long past its targets by Monday
        calm = _ticket(world, "Calm one", berlin(23, 9))
    lead = _lead_client(world)
    with time_machine.travel(berlin(23, 9, 30), tick=False):
        page = lead.get("/team/").content.decode()
    breached = page.split('id="breached"')[1].split('id="at-risk"')[0]
    assert "Breached one" in breached
    assert "Calm one" not in page.split('id="load"')[0].split('id="at-risk"')[1]
    assert "Sam Carter" in page.split('id="load"')[1]
    lee = AgentFactory.create(user=UserFactory.create(username="lee"), teams=[world.support], tier=2)
    moved = lead.post("/team/reassign", {"ticket": calm.pk, "assignee": lee.user.pk})
    assert (moved.status_code, moved["Location"]) == (302, f"/team/?team={world.support.pk}")
    calm.refresh_from_db()
    assert calm.assignee_id == lee.user.pk


def test_the_page_query_count_does_not_grow_with_the_team(world: World) -> None:
    standard_policy(berlin_calendar())
    lead = _lead_client(world)
    _ticket(world, "T0", berlin(20, 9))
    lead.get("/team/")
    with CaptureQueriesContext(connection) as few:
        lead.get("/team/")
    for i in range(15):
        _ticket(world, f"T{i + 1}", berlin(20, 9) + timedelta(minutes=i))
    with CaptureQueriesContext(connection) as many:
        lead.get("/team/")
    assert len(many) == len(few)


def test_agents_and_other_teams_are_refused(world: World, web_as: dict[str, Client]) -> None:
    assert web_as["sam"].get("/team/").status_code == 403
    lead = _lead_client(world)
    before = database_state()
    other = lead.post("/team/reassign", {"ticket": world.ticket_b.pk, "assignee": world.fin.user.pk})
    assert other.status_code == 403  # Finance's ticket, Support's lead
    assert database_state() == before
    outsider = lead.post("/team/reassign", {"ticket": world.ticket_a.pk, "assignee": world.fin.user.pk})
    assert outsider.status_code == 302
    assert Ticket.objects.get(pk=world.ticket_a.pk).assignee_id is None  # fin is not in Support
