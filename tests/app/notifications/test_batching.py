"""outbox_batch: the same outbox rows in one INSERT, configuration read once per batch."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from escalada.notifications import internal, services
from escalada.notifications.batching import memo, outbox_batch
from escalada.notifications.models import OutboxMessage, WebhookSubscription
from tests.app.conftest import World

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _mail(key: str, to: str = "lead@escalada.example") -> OutboxMessage:
    return services.email_enqueue(kind="internal.x", to=to, subject="S", body_text="B", ticket=None, idempotency_key=key, now=NOW)


def test_rows_are_written_together_when_the_batch_ends_and_a_key_is_queued_once(world: World) -> None:
    with transaction.atomic():
        _mail("k:old")
        with outbox_batch():
            _mail("k:1")
            _mail("k:1", to="someone-else@escalada.example")  # the same key: the first one stays
            _mail("k:old")  # queued before the batch: left alone
            _mail("k:2")
            assert OutboxMessage.objects.count() == 1
        rows = list(OutboxMessage.objects.order_by("pk").values_list("idempotency_key", "recipient", "next_attempt_at"))
    assert rows == [
        ("k:old", "lead@escalada.example", NOW),
        ("k:1", "lead@escalada.example", NOW),
        ("k:2", "lead@escalada.example", NOW),
    ]


def test_a_batch_that_raises_writes_nothing(world: World) -> None:
    def queue_then_fail() -> None:
        with transaction.atomic(), outbox_batch():
            _mail("k:1")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        queue_then_fail()
    assert OutboxMessage.objects.count() == 0


def test_configuration_is_read_once_per_batch_and_every_time_outside(world: World) -> None:
    WebhookSubscription.objects.create(
        name="CRM", url="https://crm.example/hook", event_types=["*"], secret="whsec_x", created_at=NOW
    )
    ticket = world.ticket_a
    with transaction.atomic():
        with CaptureQueriesContext(connection) as inside, outbox_batch():
            for _ in range(5):
                internal.announce(kind="escalation.level_fired", ticket=ticket, data={"level": 1}, now=NOW)
        with CaptureQueriesContext(connection) as outside:
            internal.announce(kind="escalation.level_fired", ticket=ticket, data={"level": 1}, now=NOW)
    subscriptions = [q for q in inside.captured_queries if "notifications_webhooksubscription" in q["sql"]]
    inserts = [q for q in inside.captured_queries if q["sql"].startswith("INSERT") and "notifications_outboxmessage" in q["sql"]]
    assert (len(subscriptions), len(inserts)) == (1, 1)
    assert len([q for q in outside.captured_queries if "notifications_webhooksubscription" in q["sql"]]) == 1
    assert OutboxMessage.objects.filter(kind="escalation.level_fired", ticket=ticket).count() == 6
    calls = []
    assert memo("k", lambda: calls.append(1)) is None
    assert memo("k", lambda: calls.append(1)) is None
    assert calls == [1, 1]  # outside a batch nothing is cached
