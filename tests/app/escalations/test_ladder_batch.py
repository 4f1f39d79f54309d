"""The ladder's storm path: steps whose levels only notify fire together, set-wise, with exactly
the rows the one-by-one path writes; the others, a stale claim and a failure keep their guarantees."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from escalada.audit.models import Event, EventStreamHead
from escalada.audit.selectors import event_chain_verify
from escalada.desk import ladder as firing
from escalada.desk import ladder_batch
from escalada.escalations import runs
from escalada.escalations.models import EscalationRun, EscalationStep
from escalada.escalations.services import ladder_create
from escalada.notifications.internal import notification_rule_create, quiet_hours_set
from escalada.notifications.models import OutboxMessage, WebhookSubscription
from escalada.tickets.models import Ticket
from tests.app.conftest import World
from tests.app.sla.scenario import berlin, berlin_calendar, open_ticket, standard_policy

pytestmark = pytest.mark.django_db

NOTIFY_ONLY = {
    "trigger": "unresolved_for",
    "offset_minutes": 0,
    "business_time": False,
    "repeat_every_minutes": 30,
    "actions": [
        {"type": "notify", "to": ["assignee", "team_leads", "escalation_managers"], "emails": ["oncall@escalada.example"]},
        {"type": "notify_customer"},
        {"type": "webhook"},
    ],
}
RAISE = {"trigger": "unresolved_for", "offset_minutes": 0, "business_time": False, "actions": [{"type": "raise_priority"}]}
UUID = re.compile(r"[0-9a-f]{32}")


def run(now: Any) -> int:
    return firing.escalation_fire_due(now=now)  # the worker's job, without delivering the outbox


def desk(world: World, levels: list[dict[str, Any]], tickets: int) -> list[Ticket]:
    standard_policy(berlin_calendar())
    ladder_create(data={"name": "Storm", "policy": None, "levels": levels}, actor=None)
    WebhookSubscription.objects.create(
        name="CRM", url="https://crm.example/hook", event_types=["*"], secret="whsec_x", created_at=berlin(23, 8)
    )
    notification_rule_create(
        data={"name": "Ladder", "event_types": ["escalation.level_fired"], "notify_escalation_managers": True}, actor=None
    )
    world.morgan.user.email = "morgan@escalada.example"
    world.morgan.user.save(update_fields=["email"])
    quiet_hours_set(user=world.morgan.user, start=time(8), end=time(10), time_zone="Europe/Berlin")
    world.sam.is_team_lead = True
    world.sam.save(update_fields=["is_team_lead"])
    return [open_ticket(world, berlin(23, 9), assignee=world.sam.user) for _ in range(tickets)]


def written() -> dict[str, list[dict[str, Any]]]:
    """What firing wrote, ids aside; keys made of a random uuid (and the Message-ID made from
    such a key) are the only values that differ from one firing to another. Outbox rows are
    compared ticket by ticket: PostgreSQL's claim returns a batch's steps in no set order."""
    outbox = []
    for values in OutboxMessage.objects.order_by("pk").values():
        row: dict[str, Any] = {k: v for k, v in values.items() if k != "id"}
        if UUID.search(row["idempotency_key"]):
            row["idempotency_key"] = UUID.sub("<uuid>", row["idempotency_key"])
            row["headers"].pop("Message-ID", None)
        outbox.append(row)
    outbox.sort(key=lambda row: row["ticket_id"] or 0)  # by ticket, each in its order: the claim's order may vary
    events = [
        {k: v for k, v in row.items() if k != "id"}
        for row in Event.objects.filter(kind="escalation.level_fired").order_by("stream", "seq").values()
    ]
    # The fence and the lease are the paths' own bookkeeping: one by one, a step goes back to
    # pending under a lease first; together, it is fired where it was taken.
    steps = [
        {k: v for k, v in row.items() if k not in ("id", "fence", "claimed_until")}
        for row in EscalationStep.objects.order_by("run", "level", "cycle").values()
    ]
    heads = [dict(head) for head in EventStreamHead.objects.order_by("stream").values()]
    return {"outbox": outbox, "events": events, "steps": steps, "heads": heads}


class _Undo(Exception):
    pass


def fire_and_read(script: Callable[[], list[int]]) -> tuple[list[int], dict[str, list[dict[str, Any]]]]:
    """Run `script` and read what it wrote, then roll it all back."""
    counts: list[int] = []
    state: dict[str, list[dict[str, Any]]] = {}
    try:
        with transaction.atomic():
            counts += script()
            state.update(written())
            raise _Undo
    except _Undo:
        pass
    return counts, state


def test_notification_steps_fire_together_with_exactly_the_rows_of_one_by_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    tickets = desk(world, [NOTIFY_ONLY], tickets=3)

    def script() -> list[int]:
        counts = [run(berlin(23, 9))]
        runs.run_acknowledge(ticket=tickets[1], level=None, now=berlin(23, 9, 5))  # no more repeats for this one
        return [*counts, run(berlin(23, 9, 30)), run(berlin(25, 9, 31))]  # a repeat, then two days late

    one_by_one_calls: list[int] = []
    original = firing._fire_one

    def spy(*, pk: int, fence: int, now: Any) -> int:
        one_by_one_calls.append(pk)
        return original(pk=pk, fence=fence, now=now)

    monkeypatch.setattr(firing, "_fire_one", spy)
    together = fire_and_read(script)
    assert one_by_one_calls == []
    monkeypatch.setattr(firing, "_only_notifies", lambda step, run, now: False)
    one_by_one = fire_and_read(script)
    assert len(one_by_one_calls) == 7
    assert together == one_by_one
    counts, state = together
    assert counts == [3, 2, 2]
    assert len(state["events"]) == 7
    assert [(e["after"]["cycle"], e["after"]["late"]) for e in state["events"][:3]] == [(1, False), (2, False), (3, True)]
    acknowledged = EscalationRun.objects.get(ticket=tickets[1]).pk
    assert [(s["cycle"], s["state"]) for s in state["steps"] if s["run_id"] == acknowledged] == [(1, "fired"), (2, "cancelled")]
    outbox = [row for row in state["outbox"] if "escalat" in row["kind"]]  # not the tickets' acknowledgements
    kinds = sorted({(row["kind"], row["recipient"]) for row in outbox})
    assert kinds == [
        ("customer.ticket_escalated", "ana@northwind.example"),
        ("escalation.level_fired", "https://crm.example/hook"),
        ("internal.escalation.level_fired", "morgan@escalada.example"),
        ("internal.escalation.level_fired", "oncall@escalada.example"),
        ("internal.escalation.level_fired", "sam@escalada.test"),
    ]
    held = {row["next_attempt_at"] for row in outbox if row["recipient"] == "morgan@escalada.example"}
    assert held == {berlin(23, 10), berlin(25, 10)}  # his quiet hours, both ways
    assert len(outbox) == 7 * 6  # per step: 3 ladder mails, the customer's, the webhook, the rule's mail


def test_a_batch_mixes_both_paths_and_each_step_fires_once(world: World) -> None:
    tickets = desk(world, [NOTIFY_ONLY, RAISE], tickets=4)
    assert run(berlin(23, 9)) == 8
    assert run(berlin(23, 9)) == 0  # never twice
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.priority == "urgent"
        levels = Event.objects.filter(subject_id=ticket.pk, kind="escalation.level_fired").order_by("seq")
        assert sorted(e.after["level"] for e in levels) == [1, 2]
        assert event_chain_verify(stream=f"ticket:{ticket.pk}") is None
    assert EscalationStep.objects.filter(state="fired").count() == 8
    assert EscalationStep.objects.filter(state="pending", cycle=2).count() == 4  # level 1's repeats


def test_a_step_put_back_for_one_by_one_does_not_fire_once_its_fence_moved(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = desk(world, [RAISE], tickets=2)
    with transaction.atomic():
        taken, fired, one_by_one = firing._fire_batch(now=berlin(23, 9), limit=10)
    assert (taken, fired, len(one_by_one)) == (2, 0, 2)
    leased = EscalationStep.objects.filter(state="pending", claimed_until__isnull=False)
    assert leased.count() == 2  # back to pending, this worker's lease on them
    assert firing._fire_batch(now=berlin(23, 9), limit=10) == (0, 0, [])  # nobody else takes them meanwhile
    EscalationStep.objects.filter(run__ticket=first).update(fence=F("fence") + 1)  # rescheduled in between
    assert [firing._fire_one(pk=pk, fence=fence, now=berlin(23, 9)) for pk, fence in one_by_one] == [0, 1]
    assert list(EscalationStep.objects.filter(state="fired").values_list("run__ticket", flat=True)) == [second.pk]
    assert Event.objects.filter(kind="escalation.level_fired").values_list("subject_id", flat=True).get() == second.pk


def test_a_batch_that_fails_after_the_take_leaves_every_step_pending(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    desk(world, [NOTIFY_ONLY], tickets=3)

    def broken(steps: Any, *, until: Any) -> Any:
        raise RuntimeError("the worker died here")

    monkeypatch.setattr(ladder_batch, "steps_release", broken)
    with pytest.raises(RuntimeError):
        firing._fire_batch(now=berlin(23, 9), limit=10)
    assert list(EscalationStep.objects.values_list("state", "claimed_until")) == [("pending", None)] * 3
    assert Event.objects.filter(kind="escalation.level_fired").count() == 0
    assert OutboxMessage.objects.filter(kind__contains="escalat").count() == 0
    monkeypatch.undo()
    assert run(berlin(23, 9)) == 3


def test_when_firing_together_fails_each_step_fires_alone_once(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    tickets = desk(world, [NOTIFY_ONLY], tickets=3)

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("a stream head appeared meanwhile")

    monkeypatch.setattr(firing, "event_record_many", broken)
    assert run(berlin(23, 9)) == 3
    assert Event.objects.filter(kind="escalation.level_fired").count() == 3
    assert OutboxMessage.objects.filter(kind="escalation.level_fired").count() == 3  # nothing left from the failed try
    assert OutboxMessage.objects.filter(kind="customer.ticket_escalated").count() == 3
    for ticket in tickets:
        assert event_chain_verify(stream=f"ticket:{ticket.pk}") is None


def test_a_step_with_an_unreadable_snapshot_fails_alone(world: World) -> None:
    tickets = desk(world, [NOTIFY_ONLY], tickets=3)
    EscalationRun.objects.filter(ticket=tickets[0]).update(snapshot=[{"offset_minutes": 0}])  # no trigger
    assert run(berlin(23, 9)) == 2
    assert set(EscalationStep.objects.filter(state="fired").values_list("run__ticket", flat=True)) == {t.pk for t in tickets[1:]}
    assert EscalationStep.objects.get(run__ticket=tickets[0]).state == "pending"  # retried when its lease ends


def test_the_storm_path_reads_and_writes_in_a_fixed_number_of_queries_however_many_steps(world: World) -> None:
    """Thread headers, tickets, runs, recipients: read for the whole batch, never a query a step."""
    desk(world, [NOTIFY_ONLY], tickets=6)
    few = EscalationStep.objects.order_by("pk")[2:]
    EscalationStep.objects.filter(pk__in=[s.pk for s in few]).update(due_at=berlin(23, 9, 1))  # 2 due first, 4 a minute later
    with CaptureQueriesContext(connection) as two:
        assert run(berlin(23, 9)) == 2
    with CaptureQueriesContext(connection) as four:
        assert run(berlin(23, 9, 1)) == 4
    assert len(four.captured_queries) == len(two.captured_queries)
    inbound = [q["sql"] for q in four.captured_queries if "external_message_id" in q["sql"]]
    assert len(inbound) == 1
