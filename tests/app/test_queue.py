"""The agent's queue: ranked by the priority score, three queries however long, and "Next ticket"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from escalada.desk import escalate as escalating
from escalada.desk import verbs
from escalada.desk.queue import queue_rank
from escalada.tickets.models import Ticket
from tests.app.conftest import World
from tests.app.sla.scenario import berlin_calendar, standard_policy

pytestmark = pytest.mark.django_db


def _open(world: World, subject: str, **extra: object) -> Ticket:
    return verbs.ticket_open(
        subject=subject,
        description="x",
        requester=world.ana,
        channel="web",
        team=world.support,
        actor=None,
        **extra,  # type: ignore[arg-type]
    )


def test_the_queue_ranks_by_score_and_says_why(world: World, web_as: dict[str, Client]) -> None:
    standard_policy(berlin_calendar(weekly={d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}))
    low = _open(world, "Question about the docs", priority="low")
    urgent = _open(world, "Checkout down", priority="urgent", severity="sev1")
    escalated = _open(world, "Balance wrong", priority="normal")
    escalating.escalate(
        ticket=escalated,
        actor=world.sam.user,
        request=escalating.EscalateRequest(reason="lack-of-progress", handoff_note="L2 please."),
    )
    rows = queue_rank(user=world.sam.user, now=timezone.now())
    subjects = [row.ticket.subject for row in rows]
    assert subjects.index("Checkout down") < subjects.index("Question about the docs")
    top = rows[0]
    assert top.ticket.pk == urgent.pk
    assert [label for label, _ in top.score.parts][1:3] == ["priority urgent", "severity sev1"]
    assert any(label == "escalated to L2" for label, _ in next(r for r in rows if r.ticket.pk == escalated.pk).score.parts)
    assert world.ticket_b.subject not in subjects  # Finance's ticket is not in Sam's queue
    page = web_as["sam"].get("/queue/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("Checkout down") < html.index("Question about the docs")
    assert f'title="{top.score.explanation}"' in html
    assert low.pk in [r.ticket.pk for r in rows]


def test_the_queue_page_runs_the_same_queries_for_5_or_50_tickets(world: World, web_as: dict[str, Client]) -> None:
    standard_policy(berlin_calendar())
    for i in range(5):
        _open(world, f"T{i}")
    web_as["sam"].get("/queue/")  # warm: session, caches
    with CaptureQueriesContext(connection) as few:
        assert web_as["sam"].get("/queue/").status_code == 200
    for i in range(45):
        _open(world, f"U{i}")
    with CaptureQueriesContext(connection) as many:
        assert web_as["sam"].get("/queue/").status_code == 200
    assert len(many) == len(few)


def test_next_ticket_takes_the_top_unassigned_one(world: World, web_as: dict[str, Client]) -> None:
    _open(world, "Slow page", priority="low")
    top = _open(world, "Data loss", priority="urgent", severity="sev1")
    response = web_as["sam"].post("/queue/next")
    assert (response.status_code, response["Location"]) == (302, f"/tickets/{top.pk}/")
    top.refresh_from_db()
    assert top.assignee_id == world.sam.user.pk
    verbs.ticket_change_status(ticket=top, status="pending", actor=world.sam.user, now=timezone.now() + timedelta(seconds=1))
    second = web_as["sam"].post("/queue/next")
    assert second["Location"] != f"/tickets/{top.pk}/"  # pending waits on the customer


def test_customers_have_no_queue(world: World, web_as: dict[str, Client]) -> None:
    assert web_as["ana"].get("/queue/").status_code == 403
    assert web_as["ana"].post("/queue/next").status_code == 403
