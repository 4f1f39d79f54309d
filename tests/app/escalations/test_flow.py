"""The escalation record end to end through the API — DESIGN.md's ticket life: L1 → escalate up
with a hand-off → transfer to Finance → action plan done → approval → RCA → resolved → the
customer reopens → re-escalated."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from escalada.accounts.models import AgentProfile
from escalada.escalations import configuration
from escalada.escalations.models import ActionStep, Approval, Escalation, Hop
from escalada.notifications.models import OutboxMessage
from escalada.tickets.models import Ticket
from tests.app.conftest import World, database_state, token_client
from tests.app.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.django_db


def call(client: Client, method: str, path: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    if method == "get":
        return client.get(f"/api/v1{path}")
    return getattr(client, method)(f"/api/v1{path}", json.dumps(body or {}), content_type="application/json", **headers)


def errors(response: Any) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def customer_mails(ticket: Ticket, kind: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(ticket=ticket, kind=f"customer.{kind}").order_by("pk"))


@pytest.fixture
def people(world: World) -> dict[str, AgentProfile]:
    lee = AgentFactory.create(user=UserFactory.create(username="lee"), teams=[world.support], tier=2)
    flo = AgentFactory.create(user=UserFactory.create(username="flo"), teams=[world.finance], is_team_lead=True)
    dev = AgentFactory.create(user=UserFactory.create(username="dev"), teams=[])
    world.finance.transfer_target_minutes = 120
    world.finance.save(update_fields=["transfer_target_minutes"])
    now = timezone.now()
    configuration.playbook_save(
        playbook=None,
        data={
            "name": "Billing dispute",
            "category": "billing-financial",
            "steps": [
                {"title": "Check the invoice run", "role": "finance agent", "due_minutes": 60},
                {"title": "Issue a credit note", "role": "finance lead", "due_minutes": 240},
            ],
        },
        actor=world.admin,
        now=now,
    )
    configuration.approval_rule_create(
        data={"category": "billing-financial", "approver_roles": ["team_lead"]}, actor=world.admin, now=now
    )
    return {"lee": lee, "flo": flo, "dev": dev}


def test_a_tickets_escalation_from_l1_to_resolution_and_reopen(
    world: World, api_as: dict[str, Client], people: dict[str, AgentProfile]
) -> None:
    lee, flo = token_client(people["lee"].user), token_client(people["flo"].user)
    ticket = world.ticket_a
    path = f"/tickets/{ticket.pk}"

    # 1. Sam (L1) escalates up with a hand-off note; a second click is the same escalation.
    escalate = {
        "reason": "technical-expertise-needed",
        "handoff_note": "Balance differs from the invoice total by 0.01 per line; reproduced on two invoices.",
        "category": "billing-financial",
        "tags": ["Account balance error"],
        "from_level": 1,
    }
    first = call(api_as["sam"], "post", f"{path}/escalations", escalate)
    assert first.status_code == 201, first.content
    body = first.json()
    assert (body["type"], body["status"], body["level"], body["reason"], body["category"], body["tags"]) == (
        "hierarchical",
        "open",
        2,
        "technical-expertise-needed",
        "billing-financial",
        ["account balance error"],
    )
    assert body["owner_id"] == world.morgan.user.pk  # the escalation manager owns it
    assert body["path_reason"] == "the team's tiers (no matrix cell applies)"
    assert [s["title"] for s in body["action_steps"]] == ["Check the invoice run", "Issue a credit note"]
    assert body["context"]["customer"] == {
        "name": "Ana Lima",
        "email": "ana@northwind.example",
        "is_vip": False,
        "organization": "Northwind",
        "tier": "standard",
    }
    again = call(api_as["sam"], "post", f"{path}/escalations", escalate)
    assert (again.status_code, again.json()["id"]) == (201, body["id"])
    assert (Escalation.objects.count(), Hop.objects.count()) == (1, 1)
    ticket.refresh_from_db()
    assert (ticket.team_id, ticket.tier, ticket.assignee_id) == (world.support.pk, 2, None)
    assert len(customer_mails(ticket, "ticket_escalated")) == 1
    escalation_id = body["id"]

    # 2. Lee (L2) transfers to Finance: a functional hop with Finance's response target.
    transfer = call(
        lee,
        "post",
        f"{path}/transfer",
        {
            "team_id": world.finance.pk,
            "reason": "billing-dispute",
            "handoff_note": "Invoice rounding; Finance owns credit notes.",
        },
    )
    assert transfer.status_code == 201, transfer.content
    hop = transfer.json()["hops"][-1]
    assert (hop["type"], hop["from_team_id"], hop["to_team_id"], hop["to_tier"]) == (
        "functional",
        world.support.pk,
        world.finance.pk,
        1,
    )
    assert hop["response_due_at"] is not None
    ticket.refresh_from_db()
    assert (ticket.team_id, ticket.tier) == (world.finance.pk, 1)
    assert len(customer_mails(ticket, "ticket_escalated")) == 2

    # 3. The escalation manager acknowledges; Finance works the action plan; a developer swarms.
    ack = call(api_as["morgan"], "post", f"/escalations/{escalation_id}/status", {"status": "acknowledged"})
    assert (ack.status_code, ack.json()["status"]) == (200, "acknowledged")
    for step in ActionStep.objects.filter(escalation_id=escalation_id):
        done = call(api_as["fin"], "patch", f"/escalations/{escalation_id}/steps/{step.pk}", {"is_done": True})
        assert (done.status_code, done.json()["done_by_id"]) == (200, world.fin.user.pk)
    added = call(
        api_as["morgan"],
        "post",
        f"/escalations/{escalation_id}/contributors",
        {"user_id": people["dev"].user.pk, "role": "developer"},
    )
    assert [c["username"] for c in added.json()["contributors"]] == ["dev"]

    # 4. Resolving needs the root cause: a 422 naming each missing field, and nothing changes.
    before = database_state()
    refused = call(api_as["fin"], "post", f"/escalations/{escalation_id}/resolve")
    assert refused.status_code == 422
    assert errors(refused) == {
        f"root_cause.{name}": "Required to resolve an escalation."
        for name in ("category", "description", "corrective_action", "preventive_action", "owning_team", "customer_summary")
    }
    assert database_state() == before
    rca = call(
        api_as["fin"],
        "put",
        f"/escalations/{escalation_id}/root-cause",
        {
            "category": "product-defect",
            "description": "Rounding in invoice totals.",
            "corrective_action": "Credit note for the difference.",
            "preventive_action": "Fix and test the rounding.",
            "owning_team_id": world.finance.pk,
            "customer_summary": "A rounding error in our invoicing made your balance 0.12 too high; we credited it.",
        },
    )
    assert (rca.status_code, rca.json()["root_cause"]["missing"]) == (200, [])

    # 5. Billing escalations need the Finance lead's sign-off: the resolution is held.
    held = call(api_as["fin"], "post", f"/escalations/{escalation_id}/resolve")
    assert (held.status_code, held.json()["status"], held.json()["is_resolution_held"]) == (200, "awaiting_approval", True)
    ticket.refresh_from_db()
    assert ticket.status != "solved"
    assert customer_mails(ticket, "ticket_solved") == []

    # 6. A non-approver is refused and nothing changes; the lead approves and the customer hears.
    before = database_state()
    denied = call(api_as["fin"], "post", f"/escalations/{escalation_id}/approvals/decide", {"approve": True})
    assert (denied.status_code, denied.json()["detail"]) == (403, "You are not an approver of this escalation.")
    assert database_state() == before
    assert Approval.objects.get().state == "pending"
    approved = call(
        flo, "post", f"/escalations/{escalation_id}/approvals/decide", {"approve": True, "comment": "Credit note OK."}
    )
    assert (approved.status_code, approved.json()["status"], approved.json()["is_resolution_held"]) == (200, "resolved", False)
    approval = Approval.objects.get()
    assert (approval.state, approval.decided_by_id, approval.comment) == ("approved", people["flo"].user.pk, "Credit note OK.")
    ticket.refresh_from_db()
    assert ticket.status == "solved"
    [solved] = customer_mails(ticket, "ticket_solved")
    assert "A rounding error in our invoicing made your balance 0.12 too high; we credited it." in solved.body_text

    # 7. Three days later Ana writes again: inside the window, ticket and escalation reopen.
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        reply = call(api_as["ana"], "post", f"{path}/replies", {"body": "Still wrong on the new invoice."})
        assert reply.status_code == 201, reply.content
    ticket.refresh_from_db()
    escalation = Escalation.objects.get(pk=escalation_id)
    assert (ticket.status, ticket.reopen_count) == ("open", 1)
    assert (escalation.status, escalation.re_escalation_count) == ("reopened", 1)
    timeline = [e["kind"] for e in call(api_as["morgan"], "get", f"/escalations/{escalation_id}/events").json()]
    assert timeline[0] == "escalation.opened"
    assert timeline[-1] == "escalation.status_changed"
    assert "escalation.approved" in timeline
    assert "escalation.transferred" in timeline
