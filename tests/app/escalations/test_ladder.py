"""Escalation ladders on tickets, driven by the worker's run_once(now=…)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from escalada.audit.models import Event
from escalada.base.errors import ValidationFailed
from escalada.desk import verbs
from escalada.escalations import runs
from escalada.escalations.models import Escalation, EscalationStep
from escalada.escalations.services import LadderData, ladder_create, ladder_update
from escalada.notifications.models import OutboxMessage
from escalada.sla import services
from escalada.sla.models import Policy, TimesMoved
from escalada.tickets.models import Ticket
from escalada.worker import Worker
from tests.app.conftest import World, database_state
from tests.app.sla.scenario import WEEKDAYS_9_TO_5, berlin, berlin_calendar, open_ticket, standard_policy

pytestmark = pytest.mark.django_db


def fired(ticket: Ticket) -> list[tuple[int, int, str, str, bool]]:
    rows = Event.objects.filter(subject_id=ticket.pk, kind="escalation.level_fired").order_by("seq")
    return [(e.after["level"], e.after["cycle"], e.after["due_at"], e.after["fired_at"], e.after["late"]) for e in rows]


def run(now: Any) -> int:
    return Worker().run_once(now=now)["escalation_fire_due"]


def ladder(policy: Policy | None, levels: list[dict[str, Any]], **extra: Any) -> Any:
    data: LadderData = {"name": "Standard ladder", "policy": policy, "levels": levels}
    data.update(extra)  # type: ignore[typeddict-item]
    return ladder_create(data=data, actor=None)


def test_breach_levels_fire_at_their_instants_with_their_actions(world: World) -> None:
    policy = standard_policy(berlin_calendar())
    world.morgan.teams.add(world.support)
    ladder(
        policy,
        [
            {
                "trigger": "metric_warning",
                "metric": "resolution",
                "offset_minutes": 0,
                "actions": [{"type": "notify", "to": ["team_leads", "escalation_managers"]}],
            },
            {
                "trigger": "metric_breach",
                "metric": "resolution",
                "offset_minutes": 30,
                "actions": [
                    {"type": "assign_escalation_manager"},
                    {"type": "raise_priority"},
                    {"type": "add_tags", "tags": ["escalated"]},
                    {"type": "notify_customer"},
                ],
            },
        ],
    )
    world.morgan.user.email = "morgan@escalada.example"
    world.morgan.user.save(update_fields=["email"])
    ticket = open_ticket(world, berlin(23, 9), priority="high")  # resolution: warn 15:00, due Tue 09:00 (17:00 is a closing)
    steps = list(EscalationStep.objects.order_by("level").values_list("level", "due_at"))
    assert steps == [(0, berlin(23, 15)), (1, berlin(24, 9, 30))]
    assert run(berlin(23, 15) - timedelta(microseconds=1)) == 0
    assert run(berlin(23, 15)) == 1
    assert run(berlin(23, 15, 1)) == 0  # never twice
    assert OutboxMessage.objects.filter(kind="internal.escalation.level_fired", recipient="morgan@escalada.example").count() == 1
    assert run(berlin(24, 9, 30)) == 1
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.priority, sorted(ticket.tags.values_list("name", flat=True))) == (
        world.morgan.user,
        "urgent",
        ["escalated"],
    )
    assert OutboxMessage.objects.filter(ticket=ticket, kind="customer.ticket_escalated").count() == 1
    assert fired(ticket) == [
        (1, 1, "2026-11-23T14:00:00Z", "2026-11-23T14:00:00Z", False),
        (2, 1, "2026-11-24T08:30:00Z", "2026-11-24T08:30:00Z", False),
    ]


def test_fulfilment_pause_and_solve_hold_or_cancel_levels(world: World) -> None:
    policy = standard_policy(berlin_calendar())
    ladder(
        policy,
        [{"trigger": "metric_breach", "metric": "first_response", "offset_minutes": 0, "actions": [{"type": "raise_priority"}]}],
    )
    ticket = open_ticket(world, berlin(23, 9))
    step = EscalationStep.objects.get()
    assert step.due_at == berlin(23, 10)
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="On it", now=berlin(23, 9, 30))  # fulfilled in time
    step.refresh_from_db()
    assert step.state == "pending"
    assert step.due_at is None  # fulfilled: the level waits, it does not fire
    assert run(berlin(23, 12)) == 0
    assert fired(ticket) == []


def test_unresolved_and_waiting_customer_triggers_with_business_time_across_the_weekend(world: World) -> None:
    standard_policy(berlin_calendar())
    ladder(
        None,
        [
            {"trigger": "unresolved_for", "offset_minutes": 120, "actions": [{"type": "set_tier", "tier": 2}]},
            {
                "trigger": "no_agent_reply_for",
                "offset_minutes": 60,
                "business_time": False,
                "actions": [{"type": "raise_priority"}],
            },
        ],
        conditions=[{"field": "channel", "operator": "is", "value": "email"}],
    )
    ticket = open_ticket(world, berlin(27, 16))  # Friday 16:00
    steps = dict(EscalationStep.objects.values_list("level", "due_at"))
    # 120 business minutes: 60 on Friday, 60 on Monday; the customer waits one calendar hour.
    assert steps == {0: berlin(30, 10), 1: berlin(27, 17)}
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Looking", now=berlin(27, 16, 30))
    assert dict(EscalationStep.objects.values_list("level", "due_at"))[1] is None  # answered: waits
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="And?", now=berlin(27, 16, 45))
    assert dict(EscalationStep.objects.values_list("level", "due_at"))[1] == berlin(27, 17, 45)
    assert run(berlin(30, 10)) == 2
    ticket.refresh_from_db()
    assert (ticket.tier, ticket.priority) == (2, "urgent")


def occurrences(ticket: Ticket) -> list[tuple[int, int, str, Any]]:
    steps = EscalationStep.objects.filter(run__ticket=ticket).order_by("level", "occurrence", "cycle")
    return [(s.level, s.cycle, s.state, s.due_at) for s in steps]


def test_a_next_response_level_fires_once_for_every_message_the_customer_waits_on(world: World) -> None:
    policy = standard_policy(berlin_calendar())
    notify = [{"type": "notify", "emails": ["oncall@escalada.example"]}]
    ladder(policy, [{"trigger": "metric_breach", "metric": "next_response", "offset_minutes": 0, "actions": notify}])
    ticket = open_ticket(world, berlin(23, 9))  # high: the next response is due 30 minutes after the customer writes
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Looking", now=berlin(23, 9, 10))
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="Still wrong", now=berlin(23, 9, 20))
    assert occurrences(ticket) == [(0, 1, "pending", berlin(23, 9, 50))]
    assert run(berlin(23, 9, 50)) == 1
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Fixing", now=berlin(23, 10))
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="And now?", now=berlin(23, 10, 10))  # cycle 2
    assert occurrences(ticket) == [(0, 1, "fired", berlin(23, 9, 50)), (0, 1, "pending", berlin(23, 10, 40))]
    assert run(berlin(23, 10, 40)) == 1  # the same level, again: a new wait
    assert run(berlin(23, 10, 41)) == 0
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Done", now=berlin(23, 10, 50))
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="Thanks, one more thing", now=berlin(23, 11))  # cycle 3
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Sure", now=berlin(23, 11, 10))  # in time
    assert occurrences(ticket)[2] == (0, 1, "pending", None)  # fulfilled: it waits, it does not fire
    assert run(berlin(23, 12)) == 0
    assert [(level, due) for level, _, due, _, _ in fired(ticket)] == [(1, "2026-11-23T08:50:00Z"), (1, "2026-11-23T09:40:00Z")]
    mails = OutboxMessage.objects.filter(kind="internal.escalation.level_fired", recipient="oncall@escalada.example")
    assert mails.count() == 2


def test_a_waiting_customer_level_fires_again_for_a_new_unanswered_message(world: World) -> None:
    standard_policy(berlin_calendar())
    level = {"trigger": "no_agent_reply_for", "offset_minutes": 60, "business_time": False, "repeat_every_minutes": 30}
    ladder(None, [{**level, "actions": [{"type": "webhook"}]}])
    ticket = open_ticket(world, berlin(23, 9))
    assert run(berlin(23, 10)) == 1
    runs.run_acknowledge(ticket=ticket, level=0, now=berlin(23, 10, 5))  # no more repeats of this wait
    assert run(berlin(23, 10, 30)) == 0
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="Looking", now=berlin(23, 10, 40))
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="Any news?", now=berlin(23, 11))
    assert [(cycle, state, due) for _, cycle, state, due in occurrences(ticket)] == [
        (1, "fired", berlin(23, 10)),
        (2, "cancelled", None),
        (1, "pending", berlin(23, 12)),  # a new wait, unacknowledged: fires and repeats again
    ]
    assert run(berlin(23, 12)) == 1
    assert run(berlin(23, 12, 30)) == 1
    assert [(cycle, due) for _, cycle, due, _, _ in fired(ticket)] == [
        (1, "2026-11-23T09:00:00Z"),
        (1, "2026-11-23T11:00:00Z"),
        (2, "2026-11-23T11:30:00Z"),
    ]


def test_steps_from_before_occurrences_are_adopted_not_fired_again(world: World) -> None:
    standard_policy(berlin_calendar())
    ladder(
        None, [{"trigger": "no_agent_reply_for", "offset_minutes": 60, "business_time": False, "actions": [{"type": "webhook"}]}]
    )
    ticket = open_ticket(world, berlin(23, 9))
    assert run(berlin(23, 10)) == 1
    EscalationStep.objects.update(occurrence=runs.UNKNOWN_OCCURRENCE)  # as migration 0006 leaves an upgraded desk
    verbs.ticket_update(ticket=ticket, changes={"severity": "sev2"}, actor=world.sam.user, now=berlin(23, 10, 5))
    assert [(cycle, state) for _, cycle, state, _ in occurrences(ticket)] == [(1, "fired")]
    assert EscalationStep.objects.get().occurrence == int(berlin(23, 9).timestamp())
    assert run(berlin(23, 12)) == 0


def test_a_calendar_edit_moves_ladder_steps_once_the_worker_follows(world: World) -> None:
    calendar = berlin_calendar()
    policy = standard_policy(calendar)
    ladder(
        policy,
        [
            {"trigger": "unresolved_for", "offset_minutes": 120, "actions": [{"type": "webhook"}]},
            {"trigger": "metric_breach", "metric": "resolution", "offset_minutes": 0, "actions": [{"type": "webhook"}]},
        ],
    )
    ticket = open_ticket(world, berlin(27, 16))  # Friday 16:00, high: resolution 8 business hours
    solved = open_ticket(world, berlin(27, 16))
    verbs.ticket_change_status(ticket=solved, status="solved", actor=world.sam.user, now=berlin(27, 16, 5))
    assert occurrences(ticket) == [(0, 1, "pending", berlin(30, 10)), (1, 1, "pending", berlin(30, 16))]
    saturday = {**WEEKDAYS_9_TO_5, "sat": [["09:00", "17:00"]]}
    services.calendar_update(calendar=calendar, data={"weekly": saturday}, actor=world.admin, now=berlin(27, 16, 30))
    assert list(TimesMoved.objects.values_list("ticket_id", flat=True)) == [ticket.pk]  # the solved one's clocks are done
    assert occurrences(ticket)[0][3] == berlin(30, 10)  # not yet: the worker follows
    assert Worker().run_once(now=berlin(27, 16, 31))["ladder_follow_moved_times"] == 1
    assert occurrences(ticket) == [(0, 1, "pending", berlin(28, 10)), (1, 1, "pending", berlin(28, 16))]
    assert TimesMoved.objects.count() == 0
    assert run(berlin(28, 10)) == 1


def test_repeat_until_acknowledged_and_the_late_cutoff(world: World) -> None:
    standard_policy(berlin_calendar())
    ladder(
        None,
        [
            {
                "trigger": "unresolved_for",
                "offset_minutes": 0,
                "business_time": False,
                "repeat_every_minutes": 30,
                "actions": [{"type": "notify", "emails": ["oncall@escalada.example"]}],
            }
        ],
    )
    ticket = open_ticket(world, berlin(23, 9))
    assert run(berlin(23, 9)) == 1
    assert run(berlin(23, 9, 30)) == 1
    runs.run_acknowledge(ticket=ticket, level=0, now=berlin(23, 9, 40))
    assert run(berlin(23, 10)) == 0  # acknowledged: no more repeats
    assert [(level, cycle) for level, cycle, *_ in fired(ticket)] == [(1, 1), (1, 2)]
    assert OutboxMessage.objects.filter(recipient="oncall@escalada.example").count() == 2

    other = open_ticket(world, berlin(23, 9))
    assert run(berlin(25, 9, 1)) == 1  # two days of downtime: one late firing, no replay of 96 repeats
    ((_, _, due, fired_at, late),) = fired(other)
    assert (due, fired_at, late) == ("2026-11-23T08:00:00Z", "2026-11-25T08:01:00Z", True)
    assert EscalationStep.objects.get(run__ticket=other, cycle=2).due_at == berlin(25, 9, 31)


def test_reapply_moves_a_running_escalation_onto_the_edited_ladder(world: World) -> None:
    policy = standard_policy(berlin_calendar())
    edited = ladder(
        policy,
        [{"trigger": "metric_breach", "metric": "resolution", "offset_minutes": 0, "actions": [{"type": "raise_priority"}]}],
    )
    ticket = open_ticket(world, berlin(23, 9))
    ladder_update(
        ladder=edited,
        data={
            "levels": [
                {
                    "trigger": "metric_breach",
                    "metric": "resolution",
                    "offset_minutes": 60,
                    "actions": [{"type": "raise_priority"}],
                }
            ]
        },
        actor=None,
    )
    assert EscalationStep.objects.get().due_at == berlin(24, 9)  # frozen: the edit does not move it
    runs.run_reapply(ticket=ticket, now=berlin(23, 10))
    assert EscalationStep.objects.get().due_at == berlin(24, 10)
    assert Event.objects.filter(subject_id=ticket.pk, kind="escalation.reapplied").count() == 1


def test_ladder_validation_names_the_level(world: World) -> None:
    before = database_state()
    with pytest.raises(ValidationFailed) as caught:
        ladder(
            None,
            [
                {
                    "trigger": "metric_breach",
                    "metric": "resolution",
                    "offset_minutes": 60,
                    "actions": [{"type": "assign_team", "team_id": 999}],
                },
                {
                    "trigger": "metric_breach",
                    "metric": "resolution",
                    "offset_minutes": 30,
                    "actions": [{"type": "assign_user", "user_id": 999}],
                },
                {"trigger": "later", "actions": []},
            ],
        )
    assert caught.value.errors == {
        "levels[0].actions[0]": "assign_team: there is no team 999.",
        "levels[1].actions[0]": "assign_user: there is no active agent 999.",
        "levels[1]": "Its offset (0:30:00) is earlier than an earlier level's on the same trigger (1:00:00): levels must not go backwards.",
        "levels[2]": "A level's trigger is one of metric_warning, metric_breach, unresolved_for, no_agent_reply_for.",
    }
    assert database_state() == before


def test_a_ladder_level_opens_then_raises_the_escalation_record(world: World) -> None:
    policy = standard_policy(berlin_calendar())
    dev = world.fin.user
    ladder(
        policy,
        [
            {
                "trigger": "unresolved_for",
                "offset_minutes": 60,
                "business_time": False,
                "actions": [{"type": "escalate"}, {"type": "add_contributors", "user_ids": [dev.pk], "role": "billing"}],
            },
            {
                "trigger": "unresolved_for",
                "offset_minutes": 120,
                "business_time": False,
                "actions": [{"type": "escalate", "level": 4}],
            },
        ],
    )
    ticket = open_ticket(world, berlin(23, 9))
    assert run(berlin(23, 10)) == 1
    escalation = Escalation.objects.get(ticket=ticket)
    assert (escalation.type, escalation.level, escalation.reason.slug, escalation.created_by_id) == (
        "automatic",
        2,
        "sla-breach",
        None,
    )
    assert list(escalation.contributors.values_list("user__username", "role")) == [("fin", "billing")]
    assert run(berlin(23, 11)) == 1
    escalation.refresh_from_db()
    assert (escalation.level, escalation.to_user_id, escalation.hops.count()) == (4, world.morgan.user.pk, 2)
    assert [
        e.after["actions"] for e in Event.objects.filter(subject_id=ticket.pk, kind="escalation.level_fired").order_by("seq")
    ] == [
        [f"escalation {escalation.pk} at L2", "contributors fin"],
        [f"escalation {escalation.pk} at L4"],
    ]


def test_ladder_escalate_actions_are_validated(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        ladder(None, [{"trigger": "unresolved_for", "offset_minutes": 5, "actions": [{"type": "escalate", "level": 1}]}])
    assert caught.value.errors == {
        "levels[0].actions[0]": "escalate: level is a whole number from 2 to 20, or leave it out for one level up."
    }
