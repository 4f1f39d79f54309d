"""Which events mark their subject for the report rollups (audit.Change)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from escalada.audit.models import Change
from escalada.audit.services import EventDraft, event_record, event_record_many
from tests.app.conftest import World

pytestmark = pytest.mark.django_db

AT = datetime(2026, 12, 7, 9, tzinfo=UTC)


def test_changes_mark_their_subject_notifications_do_not() -> None:
    with transaction.atomic():
        event_record(subject_type="ticket", subject_id=1, kind="ticket.created", actor=None, occurred_at=AT, is_new_subject=True)
        event_record(subject_type="ticket", subject_id=1, kind="sla.warning", actor=None, occurred_at=AT)
        event_record(subject_type="ticket", subject_id=1, kind="sla.breached", actor=None, occurred_at=AT)
        event_record(
            subject_type="escalation", subject_id=7, kind="escalation.opened", actor=None, occurred_at=AT, is_new_subject=True
        )
        event_record(
            subject_type="webhook", subject_id=3, kind="webhook.created", actor=None, occurred_at=AT, is_new_subject=True
        )
        event_record_many(
            drafts=[
                EventDraft(subject_type="ticket", subject_id=2, kind="escalation.level_fired"),
                EventDraft(subject_type="ticket", subject_id=3, kind="escalation.level_fired"),
                EventDraft(subject_type="ticket", subject_id=4, kind="ticket.tagged"),
                EventDraft(subject_type="ticket", subject_id=4, kind="ticket.assigned"),
            ],
            actor=None,
            occurred_at=AT,
        )
    assert list(Change.objects.order_by("pk").values_list("subject_type", "subject_id")) == [
        ("ticket", 1),
        ("ticket", 1),
        ("escalation", 7),
        ("ticket", 4),
    ]


def test_an_organization_marks_its_tickets_only_when_its_tier_changes(world: World) -> None:
    from escalada.customers.models import Organization
    from escalada.customers.services import organization_update

    northwind = Organization.objects.get(name="Northwind")
    Change.objects.all().delete()
    organization_update(organization=northwind, data={"notes": "Key account."}, actor=None)
    assert Change.objects.count() == 0
    organization_update(organization=northwind, data={"tier": "enterprise"}, actor=None)
    assert list(Change.objects.values_list("subject_type", "subject_id")) == [("organization", northwind.pk)]


def test_deleting_a_policy_marks_the_tickets_it_bound(world: World) -> None:
    from escalada.sla.models import TicketPolicy
    from escalada.sla.services import policy_delete
    from tests.app.sla.scenario import berlin_calendar, open_ticket, standard_policy

    policy = standard_policy(berlin_calendar())
    ticket = open_ticket(world, AT)
    assert TicketPolicy.objects.get(ticket=ticket).policy_id == policy.pk
    Change.objects.all().delete()
    with transaction.atomic():
        policy_delete(policy=policy, actor=None)
    assert ("ticket", ticket.pk) in set(Change.objects.values_list("subject_type", "subject_id"))
