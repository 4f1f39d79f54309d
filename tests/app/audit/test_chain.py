from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from escalada.audit.models import Event, EventStreamHead
from escalada.audit.selectors import ChainBreak, event_chain_verify
from escalada.audit.services import GENESIS, event_hash, event_record
from tests.app.conftest import World

pytestmark = pytest.mark.django_db


def _record(kind: str, n: int) -> Event:
    with transaction.atomic():
        return event_record(
            subject_type="ticket",
            subject_id=7,
            kind=kind,
            actor=None,
            before={"n": n - 1},
            after={"n": n},
            occurred_at=datetime(2026, 11, 23, 9, 0, n, 123456, tzinfo=UTC),
        )


def test_events_chain_by_stream_with_exact_hashes() -> None:
    first, second = _record("a", 1), _record("b", 2)
    assert (first.stream, first.seq, first.prev_hash) == ("ticket:7", 1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert first.hash == event_hash(
        stream="ticket:7",
        seq=1,
        kind="a",
        actor_id=None,
        actor_label="system",
        before={"n": 0},
        after={"n": 1},
        occurred_at=datetime(2026, 11, 23, 9, 0, 1, 123456, tzinfo=UTC),
        prev_hash=GENESIS,
    )
    assert len(first.hash) == 64
    assert event_chain_verify(stream="ticket:7") is None


def test_an_edited_event_is_detected() -> None:
    _record("a", 1)
    _record("b", 2)
    _record("c", 3)
    Event.objects.filter(stream="ticket:7", seq=2).update(after={"n": 99})
    assert event_chain_verify(stream="ticket:7") == ChainBreak(seq=2, reason="content does not match its hash")


def test_an_edited_actor_is_detected() -> None:
    _record("a", 1)
    Event.objects.filter(stream="ticket:7", seq=1).update(actor_label="someone else")
    assert event_chain_verify(stream="ticket:7") == ChainBreak(seq=1, reason="content does not match its hash")


def test_removing_the_newest_events_is_detected() -> None:
    _record("a", 1)
    _record("b", 2)
    _record("c", 3)
    Event.objects.filter(stream="ticket:7", seq__gte=2).delete()
    assert event_chain_verify(stream="ticket:7") == ChainBreak(seq=1, reason="the chain ends at 1 but its head records 3")
    Event.objects.filter(stream="ticket:7").delete()
    assert event_chain_verify(stream="ticket:7") == ChainBreak(seq=0, reason="the chain ends at 0 but its head records 3")


def test_the_head_follows_the_chain() -> None:
    _record("a", 1)
    last = _record("b", 2)
    head = EventStreamHead.objects.get(stream="ticket:7")
    assert (head.seq, head.hash) == (2, last.hash)


def test_a_deleted_event_is_detected() -> None:
    _record("a", 1)
    _record("b", 2)
    _record("c", 3)
    Event.objects.filter(stream="ticket:7", seq=2).delete()
    assert event_chain_verify(stream="ticket:7") == ChainBreak(seq=3, reason="sequence jumps from 1 to 3")


def test_a_rewritten_event_with_a_fresh_hash_still_breaks_the_next_link() -> None:
    _record("a", 1)
    second = _record("b", 2)
    _record("c", 3)
    forged = event_hash(
        stream=second.stream,
        seq=2,
        kind="b",
        actor_id=None,
        actor_label="system",
        before={"n": 1},
        after={"n": 42},
        occurred_at=second.occurred_at,
        prev_hash=second.prev_hash,
    )
    Event.objects.filter(pk=second.pk).update(after={"n": 42}, hash=forged)
    assert event_chain_verify(stream="ticket:7") == ChainBreak(seq=3, reason="previous hash does not match the row before it")


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused() -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"):
        event_record(subject_type="ticket", subject_id=1, kind="x", actor=None)


def test_a_real_ticket_history_verifies(world: World) -> None:
    assert event_chain_verify(stream=f"ticket:{world.ticket_a.pk}") is None
