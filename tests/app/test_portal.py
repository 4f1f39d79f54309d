"""The customer's side of an escalated ticket: the escalation in plain words, asking for one,
rating the resolution — on the page and through the API."""

from __future__ import annotations

import pytest
from django.test import Client

from escalada.desk import escalate as escalating
from escalada.desk import verbs
from escalada.tickets.models import SatisfactionRating
from tests.app.conftest import World, database_state
from tests.app.escalations.test_flow import call, errors

pytestmark = pytest.mark.django_db


def test_a_customer_asks_for_an_escalation_and_follows_it(
    world: World, web_as: dict[str, Client], api_as: dict[str, Client]
) -> None:
    page = web_as["ana"].get(f"/tickets/{world.ticket_a.pk}/").content.decode()
    assert "Ask for an escalation" in page
    empty = web_as["ana"].post(f"/tickets/{world.ticket_a.pk}/escalation-request", {"reason_text": ""})
    assert empty.status_code == 422
    asked = web_as["ana"].post(f"/tickets/{world.ticket_a.pk}/escalation-request", {"reason_text": "No answer for a week."})
    assert (asked.status_code, asked["Location"]) == (302, f"/tickets/{world.ticket_a.pk}/")
    page = web_as["ana"].get(f"/tickets/{world.ticket_a.pk}/").content.decode()
    assert "Your request is escalated: our Support specialists (level 2) have it" in page
    assert "Ask for an escalation" not in page
    assert "No answer for a week." not in page.split('id="customer-escalation"')[1].split("</div>")[0]
    status = call(api_as["ana"], "get", f"/tickets/{world.ticket_a.pk}/escalation-status").json()
    assert (status["is_escalated"], status["level"], status["holder"], status["status"]) == (
        True,
        2,
        "our Support specialists (level 2)",
        "in progress",
    )
    assert call(api_as["bob"], "get", f"/tickets/{world.ticket_a.pk}/escalation-status").status_code == 404
    assert call(api_as["ana"], "get", f"/tickets/{world.ticket_b.pk}/escalation-status").status_code == 404


def test_the_escalation_manager_level_is_said_in_words(world: World, api_as: dict[str, Client]) -> None:
    escalating.escalate(
        ticket=world.ticket_a,
        actor=world.morgan.user,
        request=escalating.EscalateRequest(reason="executive-visibility", handoff_note="To the top.", level=4),
    )
    status = call(api_as["ana"], "get", f"/tickets/{world.ticket_a.pk}/escalation-status").json()
    assert status["holder"] == "our escalation manager"


def test_a_customer_rates_a_solved_ticket_once_per_solve(
    world: World, web_as: dict[str, Client], api_as: dict[str, Client]
) -> None:
    path = f"/tickets/{world.ticket_a.pk}/rating"
    before = database_state()
    early = call(api_as["ana"], "post", path, {"score": 5})
    assert (early.status_code, early.json()["detail"]) == (409, "You can rate the resolution once the request is solved.")
    assert database_state() == before
    verbs.ticket_change_status(ticket=world.ticket_a, status="solved", actor=world.sam.user)
    bad = call(api_as["ana"], "post", path, {"score": 6})
    assert (bad.status_code, list(errors(bad))) == (422, ["score"])
    assert call(api_as["sam"], "post", path, {"score": 5}).status_code == 403
    assert call(api_as["bob"], "post", path, {"score": 1}).status_code == 404
    rated = call(api_as["ana"], "post", path, {"score": 4, "comment": "Quick, thanks."})
    assert (rated.status_code, rated.json()["score"], rated.json()["round"]) == (201, 4, 0)
    twice = call(api_as["ana"], "post", path, {"score": 1})
    assert (twice.status_code, twice.json()["detail"]) == (409, "You rated this resolution already. Thank you!")
    page = web_as["ana"].get(f"/tickets/{world.ticket_a.pk}/").content.decode()
    assert "4 / 5 — “Quick, thanks.”" in page
    # Reopened and solved again: a new round to rate, on the page.
    verbs.ticket_reply(ticket=world.ticket_a, actor=world.ana_user, body="It broke again.")
    verbs.ticket_change_status(ticket=world.ticket_a, status="solved", actor=world.sam.user)
    again = web_as["ana"].post(f"/tickets/{world.ticket_a.pk}/rate", {"score": "2", "comment": "Twice now."})
    assert again.status_code == 302
    assert list(SatisfactionRating.objects.order_by("round").values_list("round", "score")) == [(0, 4), (1, 2)]


def test_the_agent_sees_the_customers_history(world: World, web_as: dict[str, Client]) -> None:
    from escalada.desk.customer_panel import customer_panel
    from escalada.tickets.services import ticket_rate

    other = verbs.ticket_open(subject="Second issue", description="x", requester=world.ana, channel="web", actor=None)
    old = verbs.ticket_open(subject="Old issue", description="x", requester=world.ana, channel="web", actor=None)
    verbs.ticket_change_status(ticket=old, status="solved", actor=world.sam.user)
    ticket_rate(ticket=old, contact=world.ana, score=4, comment="")
    escalating.escalate(
        ticket=other, actor=world.sam.user, request=escalating.EscalateRequest(reason="lack-of-progress", handoff_note="L2.")
    )
    panel = customer_panel(ticket=world.ticket_a)
    assert (panel.scope, panel.open_count, [t.pk for t in panel.open_tickets], panel.past_count) == (
        "Northwind",
        1,
        [other.pk],
        1,
    )
    assert (panel.past_escalations, panel.csat_average, panel.csat_count) == (1, 4.0, 1)
    page = web_as["sam"].get(f"/tickets/{world.ticket_a.pk}/").content.decode()
    assert "1 solved · 1 escalation" in page
    assert "4.0 / 5 (1 rating)" in page
    assert "customer-history" not in web_as["ana"].get(f"/tickets/{world.ticket_a.pk}/").content.decode()
