"""Which events mark their subject for the report rollups (audit.Change)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from escalada.audit.models import Change
from escalada.audit.services import EventDraft, event_record, event_record_many

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
