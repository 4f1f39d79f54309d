"""Each transition and permission of the escalation record, allowed and denied; the matrix and
its fallback; reopen inside and outside the window; double clicks; risk; functional transfers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from escalada.desk import escalate as escalating
from escalada.desk import verbs
from escalada.escalations import configuration, records
from escalada.escalations.models import Escalation, EscalationType, Hop
from escalada.notifications.models import OutboxMessage
from escalada.sla.models import Clock
from escalada.tickets.models import Ticket
from tests.app.conftest import World, database_state
from tests.app.escalations.test_flow import call, errors
from tests.app.sla.scenario import berlin, berlin_calendar, open_ticket, standard_policy

pytestmark = pytest.mark.django_db

NOTE = "Tried the usual; needs L2."


def escalate_body(**extra: Any) -> dict[str, Any]:
    return {"reason": "technical-expertise-needed", "handoff_note": NOTE, **extra}


def test_agents_go_one_level_at_a_time_managers_skip(world: World, api_as: dict[str, Client]) -> None:
    path = f"/tickets/{world.ticket_a.pk}/escalations"
    before = database_state()
    skip = call(api_as["sam"], "post", path, escalate_body(level=3))
    assert (skip.status_code, skip.json()["detail"]) == (
        403,
        "Agents escalate one level at a time (to L2); team leads and escalation managers may skip levels.",
    )
    assert database_state() == before
    to_manager = call(api_as["morgan"], "post", path, escalate_body(level=4))
    assert (to_manager.status_code, to_manager.json()["level"], to_manager.json()["to_user_id"]) == (201, 4, world.morgan.user.pk)
    ticket = Ticket.objects.get(pk=world.ticket_a.pk)
    assert ticket.assignee_id == world.morgan.user.pk

    # L4 is the escalation manager, the top of Support's path: a 409 with a sentence.
    before = database_state()
    top = call(api_as["morgan"], "post", path, escalate_body())
    assert (top.status_code, top.json()["detail"]) == (
        409,
        "The ticket is at L4 (escalation manager), the top of its escalation path; there is no higher level to escalate to.",
    )
    assert database_state() == before


def test_bad_escalate_input_names_the_fields(world: World, api_as: dict[str, Client]) -> None:
    before = database_state()
    bad = call(api_as["sam"], "post", f"/tickets/{world.ticket_a.pk}/escalations", {"reason": "nope", "handoff_note": " "})
    assert bad.status_code == 422
    assert errors(bad) == {
        "reason": "Choose a reason: sla-breach, customer-request, lack-of-progress, executive-visibility, "
        "technical-expertise-needed, billing-dispute, reopened.",
        "handoff_note": "Write the hand-off note: what was tried, what is known, what the next person should do.",
    }
    assert database_state() == before
    customer = call(api_as["ana"], "post", f"/tickets/{world.ticket_a.pk}/escalations", escalate_body())
    assert customer.status_code == 403
    assert database_state() == before


def test_one_idempotency_key_makes_one_escalation(world: World, api_as: dict[str, Client]) -> None:
    path = f"/tickets/{world.ticket_a.pk}/escalations"
    first = call(api_as["sam"], "post", path, escalate_body(), HTTP_IDEMPOTENCY_KEY="esc-1")
    second = call(api_as["sam"], "post", path, escalate_body(), HTTP_IDEMPOTENCY_KEY="esc-1")
    assert (first.status_code, second.status_code, second["Idempotent-Replayed"]) == (201, 201, "true")
    assert first.json()["id"] == second.json()["id"]
    assert (Escalation.objects.count(), Escalation.objects.get().level) == (1, 2)


def test_someone_elses_escalation_in_between_is_a_conflict(world: World, api_as: dict[str, Client]) -> None:
    path = f"/tickets/{world.ticket_a.pk}/escalations"
    assert call(api_as["morgan"], "post", path, escalate_body(from_level=1)).status_code == 201
    late = call(api_as["sam"], "post", path, escalate_body(from_level=1))
    assert (late.status_code, late.json()["detail"]) == (
        409,
        "The ticket is at L2 now (moved by morgan); reload to see the escalation before escalating again.",
    )


def test_the_matrix_cell_then_its_default(world: World, api_as: dict[str, Client]) -> None:
    bad = call(api_as["admin"], "put", "/escalation-matrix/cells", {"category": "security", "path": [{"team_id": 999}]})
    assert (bad.status_code, errors(bad)) == (422, {"path[0].team_id": "There is no team 999."})
    assert call(api_as["sam"], "put", "/escalation-matrix/cells", {"path": [{"tier": 1}]}).status_code == 403
    default = call(
        api_as["admin"],
        "put",
        "/escalation-matrix/cells",
        {"path": [{"tier": 1}, {"role": "escalation_manager", "response_minutes": 30}]},
    )
    assert (default.status_code, default.json()["key"]) == (200, "*:*")
    security = call(
        api_as["admin"],
        "put",
        "/escalation-matrix/cells",
        {"category": "security", "severity": "sev3", "path": [{"tier": 1}, {"team_id": world.finance.pk, "tier": 2}]},
    )
    assert security.status_code == 200
    matrix = call(api_as["sam"], "get", "/escalation-matrix").json()
    assert matrix["has_default"] is True
    assert ["security", "sev3"] not in matrix["gaps"]
    assert ["outage", "sev1"] in matrix["gaps"]

    by_cell = call(api_as["sam"], "post", f"/tickets/{world.ticket_a.pk}/escalations", escalate_body(category="security"))
    assert (by_cell.json()["path_reason"], by_cell.json()["to_team_id"]) == ("matrix cell security × sev3", world.finance.pk)
    by_default = call(api_as["fin"], "post", f"/tickets/{world.ticket_b.pk}/escalations", escalate_body(category="outage"))
    body = by_default.json()
    assert (body["path_reason"], body["level"], body["to_user_id"]) == ("the matrix's default path", 2, world.morgan.user.pk)
    hop = Hop.objects.get(escalation_id=body["id"])
    assert hop.response_due_at is not None
    assert hop.response_due_at - hop.at == timedelta(minutes=30)


def test_status_moves_and_who_may_make_them(world: World, api_as: dict[str, Client]) -> None:
    created = call(api_as["sam"], "post", f"/tickets/{world.ticket_a.pk}/escalations", escalate_body()).json()
    path = f"/escalations/{created['id']}"
    before = database_state()
    denied = call(api_as["sam"], "post", f"{path}/status", {"status": "acknowledged"})
    assert (denied.status_code, denied.json()["detail"]) == (
        403,
        "Only the escalation's owner, team leads, escalation managers and admins acknowledge it.",
    )
    assert call(api_as["fin"], "post", f"{path}/status", {"status": "in_progress"}).status_code == 403  # not Finance's ticket
    assert database_state() == before
    ack = call(api_as["morgan"], "post", f"{path}/status", {"status": "acknowledged"}).json()
    assert (ack["status"], ack["acknowledged_at"] is not None, ack["hops"][0]["responded_at"] is not None) == (
        "acknowledged",
        True,
        True,
    )
    again = call(api_as["morgan"], "post", f"{path}/status", {"status": "acknowledged"})
    assert (again.status_code, again.json()["detail"]) == (409, "The escalation is acknowledged already.")
    work = call(api_as["sam"], "post", f"{path}/status", {"status": "in_progress"}).json()
    assert (work["status"], work["in_progress_at"] is not None) == ("in_progress", True)

    # De-escalate: back to Support L1, where it came from; the record ends.
    empty = call(api_as["sam"], "post", f"{path}/de-escalate", {"note": ""})
    assert errors(empty) == {"note": "Write the hand-off note: what was tried, what is known, what the next person should do."}
    down = call(api_as["sam"], "post", f"{path}/de-escalate", {"note": "Config fixed by L2; back to L1 to confirm."}).json()
    assert (down["status"], down["level"], down["hops"][-1]["type"]) == ("de_escalated", 1, "de_escalation")
    ticket = Ticket.objects.get(pk=world.ticket_a.pk)
    assert (ticket.team_id, ticket.tier) == (world.support.pk, 1)
    ended = call(api_as["sam"], "post", f"{path}/status", {"status": "in_progress"})
    assert ended.status_code == 409


def test_a_rejected_sign_off_needs_a_comment_and_returns_to_work(world: World, api_as: dict[str, Client]) -> None:
    configuration.approval_rule_create(
        data={"severities": ["sev3"], "approver_ids": [world.admin.pk]}, actor=world.admin, now=timezone.now()
    )
    created = call(api_as["sam"], "post", f"/tickets/{world.ticket_a.pk}/escalations", escalate_body()).json()
    path = f"/escalations/{created['id']}"
    asked = call(api_as["sam"], "post", f"{path}/approvals", {"note": "Refund above 500 EUR."})
    assert (asked.status_code, asked.json()["status"], asked.json()["approvals"][0]["approver_ids"]) == (
        201,
        "awaiting_approval",
        [world.admin.pk],
    )
    twice = call(api_as["sam"], "post", f"{path}/approvals", {"note": "again"})
    assert (twice.status_code, twice.json()["detail"]) == (409, "Sign-off was requested already and is pending.")
    no_reason = call(api_as["admin"], "post", f"{path}/approvals/decide", {"approve": False})
    assert errors(no_reason) == {"comment": "Say why you reject it, so the team knows what to change."}
    rejected = call(api_as["admin"], "post", f"{path}/approvals/decide", {"approve": False, "comment": "Too high."}).json()
    assert (rejected["status"], rejected["approvals"][0]["state"], rejected["approvals"][0]["comment"]) == (
        "in_progress",
        "rejected",
        "Too high.",
    )


def test_an_escalated_ticket_is_solved_by_resolving_its_escalation(world: World, api_as: dict[str, Client]) -> None:
    created = call(api_as["sam"], "post", f"/tickets/{world.ticket_a.pk}/escalations", escalate_body()).json()
    before = database_state()
    solve = call(api_as["sam"], "patch", f"/tickets/{world.ticket_a.pk}", {"status": "solved"})
    assert (solve.status_code, errors(solve)) == (
        422,
        {
            "status": f"Escalation {created['id']} (L2) is open on this ticket; resolve it with its root cause "
            "(or de-escalate it) before solving the ticket."
        },
    )
    assert database_state() == before


def _resolved(world: World) -> tuple[Ticket, Escalation]:
    now = timezone.now()
    ticket = verbs.ticket_open(
        subject="Export fails",
        description="CSV export fails.",
        requester=world.ana,
        channel="email",
        team=world.support,
        actor=None,
    )
    escalation = escalating.escalate(
        ticket=ticket, actor=world.sam.user, request=escalating.EscalateRequest(reason="lack-of-progress", handoff_note=NOTE)
    )
    records.root_cause_save(
        escalation=escalation,
        data={
            "category": "documentation-gap",
            "description": "Docs say UTF-16.",
            "corrective_action": "Told the customer.",
            "preventive_action": "Fix the docs.",
            "owning_team_id": world.support.pk,
            "customer_summary": "Our documentation named the wrong encoding.",
        },
        actor=world.sam.user,
        now=now,
    )
    escalating.resolve(escalation=escalation, actor=world.sam.user)
    ticket.refresh_from_db()
    escalation.refresh_from_db()
    assert (ticket.status, escalation.status) == ("solved", "resolved")
    return ticket, escalation


def test_a_reply_after_the_reopen_window_opens_a_linked_follow_up(world: World, api_as: dict[str, Client]) -> None:
    ticket, escalation = _resolved(world)
    Ticket.objects.filter(pk=ticket.pk).update(solved_at=timezone.now() - timedelta(days=8))
    assert verbs.reopen_window_passed(ticket=Ticket.objects.get(pk=ticket.pk), now=timezone.now()) is True
    from escalada.desk.mail import mail_receive_and_process

    raw = (
        "From: Ana Lima <ana@northwind.example>\r\nTo: support@escalada.test\r\n"
        f"Subject: Re: [#{ticket.number}] Export fails\r\nMessage-ID: <late@northwind.example>\r\n\r\nIt fails again.\r\n"
    ).encode()
    inbound = mail_receive_and_process(raw=raw, source="test")
    assert inbound.ticket_id is not None
    follow_up = Ticket.objects.get(pk=inbound.ticket_id)
    assert (follow_up.pk != ticket.pk, follow_up.follow_up_of_id, follow_up.subject) == (
        True,
        ticket.pk,
        f"Follow-up to #{ticket.number}: Export fails",
    )
    escalation.refresh_from_db()
    assert (escalation.status, escalation.re_escalation_count) == ("resolved", 0)
    assert Ticket.objects.get(pk=ticket.pk).status == "solved"


def test_the_nth_reopen_escalates_automatically(world: World) -> None:
    configuration.settings_update(data={"escalate_on_reopen": 2}, actor=world.admin, now=timezone.now())
    ticket = verbs.ticket_open(
        subject="Login loop", description="It loops.", requester=world.ana, channel="web", team=world.support, actor=None
    )
    for _ in range(2):
        verbs.ticket_change_status(ticket=ticket, status="solved", actor=world.sam.user)
        verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="Still looping.")
    escalation = Escalation.objects.get(ticket=ticket)
    assert (escalation.type, escalation.reason.slug, escalation.level, escalation.created_by_id) == (
        EscalationType.AUTOMATIC,
        "reopened",
        2,
        None,
    )


def test_risk_above_the_appetite_alerts_the_executives_once(world: World, api_as: dict[str, Client]) -> None:
    configuration.settings_update(
        data={"risk_appetite": 12, "executive_emails": ["cxo@escalada.test"]}, actor=world.admin, now=timezone.now()
    )
    created = call(
        api_as["sam"], "post", f"/tickets/{world.ticket_a.pk}/escalations", escalate_body(risk_likelihood=3, risk_impact=4)
    ).json()
    assert created["risk_score"] == 12
    assert not OutboxMessage.objects.filter(kind="internal.escalation.risk_exceeded").exists()
    bad = call(api_as["morgan"], "patch", f"/escalations/{created['id']}", {"risk_likelihood": 6})
    assert errors(bad) == {"risk_likelihood": "A whole number from 1 to 5."}
    raised = call(api_as["morgan"], "patch", f"/escalations/{created['id']}", {"risk_likelihood": 4}).json()
    assert raised["risk_score"] == 16
    call(api_as["morgan"], "patch", f"/escalations/{created['id']}", {"risk_impact": 5})
    assert list(OutboxMessage.objects.filter(kind="internal.escalation.risk_exceeded").values_list("recipient", flat=True)) == [
        "cxo@escalada.test"
    ]


def test_customers_request_escalation_and_never_see_the_record(world: World, api_as: dict[str, Client]) -> None:
    path = f"/tickets/{world.ticket_a.pk}/escalation-request"
    empty = call(api_as["ana"], "post", path, {"reason_text": ""})
    assert errors(empty) == {"reason_text": "Tell us why you want this escalated, so the right people pick it up."}
    assert call(api_as["bob"], "post", path, {"reason_text": "Not mine"}).status_code == 404
    asked = call(api_as["ana"], "post", path, {"reason_text": "Three weeks without an answer."})
    assert (asked.status_code, asked.json()["level"]) == (201, 2)
    escalation = Escalation.objects.get()
    assert (escalation.type, escalation.reason.slug, escalation.reason_text) == (
        "customer_requested",
        "customer-request",
        "Three weeks without an answer.",
    )
    again = call(api_as["ana"], "post", path, {"reason_text": "Again"})
    assert (again.status_code, again.json()["detail"]) == (
        409,
        "This request is escalated already (level 2); the escalation team has it.",
    )
    assert call(api_as["ana"], "get", f"/escalations/{escalation.pk}").status_code == 404
    assert call(api_as["ana"], "get", "/escalations").status_code == 403


def test_a_transfer_keeps_the_customers_clocks_and_measures_the_receiving_team(world: World, api_as: dict[str, Client]) -> None:
    standard_policy(berlin_calendar())
    ticket = open_ticket(world, berlin(23, 9))
    clocks_before = list(Clock.objects.filter(ticket=ticket).order_by("pk").values("metric", "state", "due_at", "policy_id"))
    world.finance.transfer_target_minutes = 60
    world.finance.save(update_fields=["transfer_target_minutes"])
    moved = call(
        api_as["sam"],
        "post",
        f"/tickets/{ticket.pk}/transfer",
        {"team_id": world.finance.pk, "reason": "billing-dispute", "handoff_note": "Refund question."},
    )
    assert (moved.status_code, moved.json()["type"]) == (201, "functional")
    assert (
        list(Clock.objects.filter(ticket=ticket).order_by("pk").values("metric", "state", "due_at", "policy_id")) == clocks_before
    )
    hop = Hop.objects.get()
    assert hop.response_due_at is not None
    assert (hop.response_due_at - hop.at, hop.responded_at) == (timedelta(minutes=60), None)
    same = call(
        api_as["fin"],
        "post",
        f"/tickets/{ticket.pk}/transfer",
        {"team_id": world.finance.pk, "reason": "billing-dispute", "handoff_note": "x"},
    )
    assert errors(same) == {"team_id": "The ticket is with Finance already; escalate up within the team instead."}
    note = call(api_as["fin"], "post", f"/tickets/{ticket.pk}/replies", {"body": "Looking at it.", "visibility": "internal"})
    assert note.status_code == 201
    hop.refresh_from_db()
    assert hop.responded_at is not None


def test_the_board_lists_unacknowledged_first_with_filters(world: World, api_as: dict[str, Client]) -> None:
    first = call(api_as["sam"], "post", f"/tickets/{world.ticket_a.pk}/escalations", escalate_body()).json()
    second = call(api_as["fin"], "post", f"/tickets/{world.ticket_b.pk}/escalations", escalate_body()).json()
    call(api_as["morgan"], "post", f"/escalations/{first['id']}/status", {"status": "acknowledged"})
    board = call(api_as["sam"], "get", "/escalations").json()
    assert ([item["id"] for item in board["items"]], board["count"]) == ([second["id"], first["id"]], 2)
    finance = call(api_as["sam"], "get", f"/escalations?team_id={world.finance.pk}&status=open").json()
    assert [item["id"] for item in finance["items"]] == [second["id"]]


def test_a_customer_asks_for_escalation_by_e_mail_keyword(world: World) -> None:
    from escalada.desk.mail import mail_receive_and_process

    raw = (
        b"From: Ana Lima <ana@northwind.example>\r\nTo: support@escalada.test\r\n"
        b"Subject: Balance wrong again\r\nMessage-ID: <kw1@northwind.example>\r\n\r\n"
        b"Hello,\r\n#escalate: third invoice in a row with a wrong balance\r\nAna\r\n"
    )
    inbound = mail_receive_and_process(raw=raw, source="test")
    assert inbound.ticket_id is not None
    escalation = Escalation.objects.get(ticket_id=inbound.ticket_id)
    assert (escalation.type, escalation.reason.slug, escalation.reason_text, escalation.level) == (
        "customer_requested",
        "customer-request",
        "third invoice in a row with a wrong balance",
        2,
    )
    assert escalating.keyword_request_text("no keyword here", "#escalate") is None
    assert escalating.keyword_request_text("#ESCALATE\nplease, it is urgent", "#escalate") == "please, it is urgent"


def test_the_reopen_link_reopens_once_and_names_its_follow_up_after_the_window(world: World) -> None:
    import re

    from django.conf import settings

    from escalada.notifications.services import reopen_token_read

    ticket, escalation = _resolved(world)
    [solved] = OutboxMessage.objects.filter(ticket=ticket, kind="customer.ticket_solved")
    # The link as the mail has it (its signature carries the second it was made, so it is read
    # from the mail, not made again): it names this ticket's first solve.
    [link] = re.findall(re.escape(settings.BASE_URL.rstrip("/")) + r"/support/reopen/(\S+)", solved.body_text)
    assert reopen_token_read(link) == (ticket.pk, 0)
    path = f"support/reopen/{link}"
    client = Client()
    assert client.get(f"/{path}").status_code == 200
    empty = client.post(f"/{path}", {"body": " "})
    assert (empty.status_code, "This field is required." in empty.content.decode()) == (422, True)
    done = client.post(f"/{path}", {"body": "Still broken on export."})
    assert (done.status_code, "is open again" in done.content.decode()) == (200, True)
    ticket.refresh_from_db()
    escalation.refresh_from_db()
    assert (ticket.status, ticket.reopen_count, escalation.status, escalation.re_escalation_count) == ("open", 1, "reopened", 1)
    again = client.post(f"/{path}", {"body": "Once more."})
    assert "is open already" in again.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).reopen_count == 1
    assert client.get(f"/{path[:-3]}xyz").status_code == 404


def test_the_reopen_link_after_the_window_opens_a_follow_up(world: World) -> None:
    from escalada.notifications.services import reopen_url

    ticket, _ = _resolved(world)
    Ticket.objects.filter(pk=ticket.pk).update(solved_at=timezone.now() - timedelta(days=30))
    path = reopen_url(ticket).split("://", 1)[1].split("/", 1)[1]
    page = Client().post(f"/{path}", {"body": "It is back."})
    follow_up = Ticket.objects.get(follow_up_of=ticket)
    assert f"We opened request #{follow_up.number}" in page.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == "solved"


def test_an_ended_escalation_is_a_closed_file(world: World, api_as: dict[str, Client]) -> None:
    _, escalation = _resolved(world)
    before = database_state()
    for method, path, body in (
        ("post", f"/escalations/{escalation.pk}/steps", {"title": "One more thing"}),
        ("post", f"/escalations/{escalation.pk}/contributors", {"user_id": world.fin.user.pk}),
        ("put", f"/escalations/{escalation.pk}/root-cause", {"description": "Rewritten later."}),
        ("patch", f"/escalations/{escalation.pk}", {"tags": ["late"]}),
    ):
        refused = call(api_as["morgan"], method, path, body)
        assert (refused.status_code, refused.json()["detail"]) == (
            409,
            f"Escalation {escalation.pk} is resolved; it changes again only if it is reopened.",
        )
    assert database_state() == before
