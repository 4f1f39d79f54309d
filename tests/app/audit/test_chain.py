from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import transaction

from escalada.audit.models import Event, EventStreamHead
from escalada.audit.selectors import ChainBreak, event_chain_verify
from escalada.audit.services import GENESIS, EventDraft, event_hash, event_record, event_record_many
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


class _Undo(Exception):
    """Raised to roll a savepoint back after reading what it wrote."""


def _written(record: Callable[[], object]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The events and heads `record` writes (ids aside), rolled back afterwards."""
    written: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    try:
        with transaction.atomic():
            record()
            written[0].extend(Event.objects.order_by("stream", "seq").values(*EVENT_FIELDS))
            written[1].extend(dict(head) for head in EventStreamHead.objects.order_by("stream").values("stream", "seq", "hash"))
            raise _Undo
    except _Undo:
        pass
    return written


EVENT_FIELDS = (
    *("stream", "seq", "subject_type", "subject_id", "kind", "actor_id", "actor_label"),
    *("before", "after", "occurred_at", "prev_hash", "hash"),
)
AT = datetime(2026, 11, 23, 9, 0, 5, 123456, tzinfo=UTC)


def test_recording_many_writes_exactly_the_rows_and_hashes_of_one_by_one() -> None:
    _record("a", 1)  # ticket:7 has a head already; ticket:8 and organization:7 have none
    drafts = [
        EventDraft(subject_type="ticket", subject_id=8, kind="x", after={"due_at": AT, "n": 1}),
        EventDraft(subject_type="ticket", subject_id=7, kind="y", before={"n": 1}, after={"n": 2}),
        EventDraft(subject_type="organization", subject_id=7, kind="z"),
        EventDraft(subject_type="ticket", subject_id=8, kind="x", after={"actions": ["webhook", "notified 2"]}),
        EventDraft(subject_type="ticket", subject_id=7, kind="y", after={"n": 3}),
    ]

    def one_by_one() -> None:
        for draft in drafts:
            event_record(
                subject_type=draft.subject_type,
                subject_id=draft.subject_id,
                kind=draft.kind,
                actor=None,
                before=draft.before,
                after=draft.after,
                occurred_at=AT,
            )

    expected = _written(one_by_one)
    assert _written(lambda: event_record_many(drafts=drafts, actor=None, occurred_at=AT)) == expected
    assert [(e["stream"], e["seq"]) for e in expected[0]] == [
        ("organization:7", 1),
        ("ticket:7", 1),
        ("ticket:7", 2),
        ("ticket:7", 3),
        ("ticket:8", 1),
        ("ticket:8", 2),
    ]
    with transaction.atomic():
        assert event_record_many(drafts=drafts, actor=None, occurred_at=AT) == 5
    for stream in ("ticket:7", "ticket:8", "organization:7"):
        assert event_chain_verify(stream=stream) is None
    with transaction.atomic():
        assert event_record_many(drafts=[], actor=None, occurred_at=AT) == 0


@pytest.mark.django_db(transaction=True)
def test_recording_many_outside_a_transaction_is_refused() -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"):
        event_record_many(drafts=[EventDraft(subject_type="ticket", subject_id=1, kind="x")], actor=None, occurred_at=AT)
    assert Event.objects.count() == 0
