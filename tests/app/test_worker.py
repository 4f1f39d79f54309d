from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from escalada.accounts.models import IdempotencyKey
from escalada.worker import Job, Worker
from tests.app.conftest import World

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _key(world: World, key: str, expires_at: datetime) -> None:
    IdempotencyKey.objects.create(
        user=world.sam.user,
        key=key,
        fingerprint="f",
        status_code=201,
        response_body=b"{}",
        content_type="application/json",
        created_at=expires_at - timedelta(hours=24),
        expires_at=expires_at,
    )


def test_run_once_purges_only_expired_keys_and_respects_the_interval(world: World) -> None:
    _key(world, "expired", T0 - timedelta(seconds=1))
    _key(world, "at-now", T0)
    _key(world, "live", T0 + timedelta(seconds=1))
    worker = Worker()
    assert worker.run_once(now=T0) == {
        "sla_fire_due": 0,
        "escalation_fire_due": 0,
        "outbox_deliver_due": 0,
        "mail_process_pending": 0,
        "idempotency_key_purge": 2,
        "report_rollups": 2,  # the world's two new tickets
        "ladder_follow_moved_times": 0,
        "overdue_audit": 0,
    }
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["live"]
    # Four minutes on: the mail sweep (every 30 s) runs, the purge (every 5 min) does not.
    assert worker.run_once(now=T0 + timedelta(minutes=4)) == {
        "sla_fire_due": 0,
        "escalation_fire_due": 0,
        "outbox_deliver_due": 0,
        "mail_process_pending": 0,
        "report_rollups": 0,
        "ladder_follow_moved_times": 0,
        "overdue_audit": 0,
    }
    assert worker.run_once(now=T0 + timedelta(minutes=5)) == {
        "sla_fire_due": 0,
        "escalation_fire_due": 0,
        "outbox_deliver_due": 0,
        "mail_process_pending": 0,
        "idempotency_key_purge": 1,
        "report_rollups": 0,
        "ladder_follow_moved_times": 0,
        "overdue_audit": 0,
    }
    assert IdempotencyKey.objects.count() == 0


def test_a_failing_job_does_not_stop_the_others(world: World) -> None:
    def broken(now: datetime) -> int:
        raise RuntimeError("boom")

    worker = Worker(jobs=[Job("broken", timedelta(minutes=1), broken), Job("fine", timedelta(minutes=1), lambda now: 3)])
    assert worker.run_once(now=T0) == {"broken": 0, "fine": 3}
    assert worker.run_once(now=T0 + timedelta(minutes=1)) == {"broken": 0, "fine": 3}


def test_a_turn_for_an_interval_job_alone_leaves_the_timer_jobs_out(world: World) -> None:
    worker = Worker()
    assert sorted(worker.run_once(now=T0, timers=False)) == [
        "idempotency_key_purge",
        "ladder_follow_moved_times",
        "mail_process_pending",
        "overdue_audit",
        "report_rollups",
    ]
    assert sorted(worker.run_once(now=T0 + timedelta(seconds=2), timers=True)) == [
        "escalation_fire_due",
        "ladder_follow_moved_times",
        "outbox_deliver_due",
        "report_rollups",
        "sla_fire_due",
    ]
