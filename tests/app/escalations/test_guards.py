"""The refusals a review of the escalation record asked for: skipping levels by naming someone,
signing off one's own request, leads moving other teams' tickets, replies after the window,
escalating solved or closed tickets, and bad input that must be a 4xx."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from escalada.desk import escalate as escalating
from escalada.desk import verbs
from escalada.escalations import configuration, records
from escalada.escalations.models import Escalation, Hop, Reason
from escalada.tickets.models import Message, Ticket
from tests.app.conftest import World, database_state, token_client
from tests.app.escalations.test_flow import call, errors
from tests.app.escalations.test_records import NOTE, _resolved, escalate_body
from tests.app.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_agents_hand_only_to_someone_at_the_next_level(world: World, api_as: dict[str, Client]) -> None:
    path = f"/tickets/{world.ticket_a.pk}/escalations"
    before = database_state()
    to_manager = call(api_as["sam"], "post", path, escalate_body(to_user_id=world.morgan.user.pk))
    assert (to_manager.status_code, to_manager.json()["detail"]) == (
        403,
        "Agents hand to someone at the next level: an L2 agent of Support.",
    )
    to_finance = call(api_as["sam"], "post", path, escalate_body(to_user_id=world.fin.user.pk))
    assert to_finance.status_code == 403
    assert database_state() == before
    lee = AgentFactory.create(user=UserFactory.create(username="lee"), teams=[world.support], tier=2)
    named = call(api_as["sam"], "post", path, escalate_body(to_user_id=lee.user.pk))
    assert (named.status_code, named.json()["to_user_id"]) == (201, lee.user.pk)


def _held(world: World, api_as: dict[str, Client]) -> dict[str, Any]:
    configuration.approval_rule_create(
        data={"approver_roles": ["escalation_manager", "admin"]}, actor=world.admin, now=timezone.now()
    )
    created = call(api_as["sam"], "post", f"/tickets/{world.ticket_a.pk}/escalations", escalate_body()).json()
    records.root_cause_save(
        escalation=Escalation.objects.get(pk=created["id"]),
        data={
            "category": "process",
            "description": "d",
            "corrective_action": "c",
            "preventive_action": "p",
            "owning_team_id": world.support.pk,
            "customer_summary": "s",
        },
        actor=None,
        now=timezone.now(),
    )
    held: dict[str, Any] = call(api_as["morgan"], "post", f"/escalations/{created['id']}/resolve").json()
    assert (held["status"], held["is_resolution_held"]) == ("awaiting_approval", True)
    return held


def test_nobody_signs_off_their_own_request(world: World, api_as: dict[str, Client]) -> None:
    held = _held(world, api_as)
    path = f"/escalations/{held['id']}"
    before = database_state()
    own = call(api_as["morgan"], "post", f"{path}/approvals/decide", {"approve": True, "comment": "fine"})
    assert (own.status_code, own.json()["detail"]) == (403, "You asked for this sign-off; another approver must give it.")
    moved = call(api_as["morgan"], "post", f"{path}/status", {"status": "in_progress"})
    assert (moved.status_code, moved.json()["detail"]) == (
        409,
        "The escalation awaits sign-off: an approver approves or rejects it (a rejection sends it back to work).",
    )
    assert database_state() == before
    bare = call(api_as["admin"], "post", f"{path}/approvals/decide", {"approve": True})
    assert errors(bare) == {"comment": "Say what you approve, for the record."}
    approved = call(api_as["admin"], "post", f"{path}/approvals/decide", {"approve": True, "comment": "ok"}).json()
    assert approved["status"] == "resolved"

    # The customer reopens it: resolving again needs a new sign-off.
    verbs.ticket_reply(ticket=world.ticket_a, actor=world.ana_user, body="Not fixed.")
    again = call(api_as["morgan"], "post", f"{path}/resolve").json()
    assert (again["status"], again["is_resolution_held"]) == ("awaiting_approval", True)


def test_leads_move_only_tickets_of_their_teams(world: World, api_as: dict[str, Client]) -> None:
    flo = AgentFactory.create(user=UserFactory.create(username="flo"), teams=[world.finance], is_team_lead=True)
    as_flo = token_client(flo.user)
    created = call(api_as["sam"], "post", f"/tickets/{world.ticket_a.pk}/escalations", escalate_body()).json()
    before = database_state()
    refused = call(as_flo, "post", f"/escalations/{created['id']}/steps", {"title": "Mine now"})
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "Only its owner, contributors, the ticket's team, escalation managers and admins change it.",
    )
    assert database_state() == before
    records.contributor_add(
        escalation=Escalation.objects.get(pk=created["id"]), user=flo.user, role="billing", actor=None, now=timezone.now()
    )
    step = call(as_flo, "post", f"/escalations/{created['id']}/steps", {"title": "Check invoices"})
    assert step.status_code == 201  # a contributor works the plan
    before = database_state()
    still = call(as_flo, "post", f"/escalations/{created['id']}/de-escalate", {"note": "mine now"})
    assert (still.status_code, still.json()["detail"]) == (
        403,
        "This moves the ticket: only its team, its assignee, escalation managers and admins do that.",
    )
    assert database_state() == before


def test_a_customer_reply_after_the_window_is_a_follow_up_everywhere(world: World, api_as: dict[str, Client]) -> None:
    ticket, escalation = _resolved(world)
    Ticket.objects.filter(pk=ticket.pk).update(solved_at=timezone.now() - timedelta(days=30))
    reply = call(api_as["ana"], "post", f"/tickets/{ticket.pk}/replies", {"body": "Back again."})
    assert reply.status_code == 201
    follow_up = Ticket.objects.get(follow_up_of=ticket)
    assert Message.objects.get(pk=reply.json()["id"]).ticket_id == follow_up.pk
    escalation.refresh_from_db()
    assert (Ticket.objects.get(pk=ticket.pk).status, escalation.status) == ("solved", "resolved")


def test_solved_and_closed_tickets_are_not_escalated(world: World, api_as: dict[str, Client]) -> None:
    verbs.ticket_change_status(ticket=world.ticket_a, status="solved", actor=world.sam.user)
    before = database_state()
    solved = call(api_as["sam"], "post", f"/tickets/{world.ticket_a.pk}/escalations", escalate_body())
    assert (solved.status_code, solved.json()["detail"]) == (
        409,
        "This ticket is solved; it is escalated only once it is open again (a reply from the customer reopens it).",
    )
    asked = call(api_as["ana"], "post", f"/tickets/{world.ticket_a.pk}/escalation-request", {"reason_text": "Please"})
    assert asked.status_code == 409
    verbs.ticket_change_status(ticket=world.ticket_a, status="closed", actor=world.sam.user)
    before = database_state()
    closed = call(
        api_as["sam"],
        "post",
        f"/tickets/{world.ticket_a.pk}/transfer",
        {"team_id": world.finance.pk, "reason": "billing-dispute", "handoff_note": NOTE},
    )
    assert (closed.status_code, closed.json()["detail"]) == (
        409,
        "This ticket is closed; open a follow-up ticket instead of escalating it.",
    )
    assert database_state() == before


def test_the_escalating_agent_does_not_answer_their_own_hand_off(world: World, api_as: dict[str, Client]) -> None:
    configuration.matrix_cell_set(
        category=None, severity=None, path=[{"tier": 1}, {"tier": 2, "response_minutes": 60}], actor=None, now=timezone.now()
    )
    call(api_as["sam"], "post", f"/tickets/{world.ticket_a.pk}/escalations", escalate_body())
    call(api_as["sam"], "post", f"/tickets/{world.ticket_a.pk}/replies", {"body": "Noted.", "visibility": "internal"})
    hop = Hop.objects.get()
    assert hop.responded_at is None
    lee = AgentFactory.create(user=UserFactory.create(username="lee"), teams=[world.support], tier=2)
    call(token_client(lee.user), "post", f"/tickets/{world.ticket_a.pk}/replies", {"body": "On it.", "visibility": "internal"})
    hop.refresh_from_db()
    assert hop.responded_at is not None


def test_a_retired_reason_never_refuses_a_customers_message(world: World) -> None:
    configuration.settings_update(data={"escalate_on_reopen": 1}, actor=None, now=timezone.now())
    Reason.objects.filter(slug="reopened").update(is_active=False)
    ticket = verbs.ticket_open(
        subject="Loop", description="x", requester=world.ana, channel="web", team=world.support, actor=None
    )
    verbs.ticket_change_status(ticket=ticket, status="solved", actor=world.sam.user)
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="Still broken.")
    assert Escalation.objects.get(ticket=ticket).reason.slug == "reopened"  # the system may use a retired reason
    # Without any escalation manager the automatic escalation to L2 still happens; at the top it
    # would be skipped with a log line, and the message lands either way.
    assert Message.objects.filter(ticket=ticket, body_text="Still broken.").count() == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("put", "/escalation-matrix/cells", {"path": [{"role": ["x"]}]}, "path[0].role"),
        ("get", "/escalations?team_id=99999999999999999999", None, "team_id"),
        (
            "post",
            "/escalation-ladders",
            {
                "name": "L",
                "levels": [
                    {
                        "trigger": "unresolved_for",
                        "offset_minutes": 5,
                        "actions": [{"type": "add_contributors", "user_ids": "abc"}],
                    }
                ],
            },
            "levels[0].actions[0]",
        ),
        (
            "post",
            "/escalation-ladders",
            {
                "name": "L",
                "levels": [
                    {"trigger": "unresolved_for", "offset_minutes": 5, "actions": [{"type": "notify", "user_ids": [[1]]}]}
                ],
            },
            "levels[0].actions[0]",
        ),
    ],
)
def test_bad_configuration_is_a_422_naming_the_field(
    world: World, api_as: dict[str, Client], method: str, path: str, body: dict[str, Any] | None, field: str
) -> None:
    before = database_state()
    response = call(api_as["admin"], method, path, body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]] or field in str(response.json()["errors"])
    assert database_state() == before


def test_executive_emails_null_clears_them(world: World, api_as: dict[str, Client]) -> None:
    response = call(api_as["admin"], "put", "/escalation-settings", {"executive_emails": None})
    assert (response.status_code, response.json()["executive_emails"]) == (200, [])


def test_the_reopen_link_after_the_window_makes_one_follow_up(world: World) -> None:
    from escalada.notifications.services import reopen_url

    ticket, _ = _resolved(world)
    Ticket.objects.filter(pk=ticket.pk).update(solved_at=timezone.now() - timedelta(days=30))
    path = reopen_url(ticket).split("://", 1)[1].split("/", 1)[1]
    client = Client()
    client.post(f"/{path}", {"body": "It is back."})
    again = client.post(f"/{path}", {"body": "It is back, again."})
    assert Ticket.objects.filter(follow_up_of=ticket).count() == 1
    assert "already" in again.content.decode()


def test_escalations_lock_the_ticket_before_the_record(world: World) -> None:
    """The lock order that keeps PostgreSQL from deadlocking: every verb that changes both
    takes the ticket's row first (escalate and transfer start from the ticket)."""
    created = escalating.escalate(
        ticket=world.ticket_a,
        actor=world.sam.user,
        request=escalating.EscalateRequest(reason="lack-of-progress", handoff_note=NOTE),
    )
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        escalating.de_escalate(escalation=created, actor=world.sam.user, note="done")
    locks = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    if connection.features.has_select_for_update:
        assert '"tickets_ticket"' in locks[0]
