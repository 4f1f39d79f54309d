from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from escalada.audit.models import Event, EventStreamHead
from escalada.audit.services import GENESIS, event_hash


def event_list_for_subject(*, subject_type: str, subject_id: int) -> QuerySet[Event]:
    return Event.objects.filter(stream=f"{subject_type}:{subject_id}").select_related("actor").order_by("seq")


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def event_chain_verify(*, stream: str) -> ChainBreak | None:
    """Recompute the stream's chain; the first row that does not fit, or None if all do."""
    expected_prev = GENESIS
    expected_seq = 1
    for event in Event.objects.filter(stream=stream).order_by("seq").iterator():
        if event.seq != expected_seq:
            return ChainBreak(seq=event.seq, reason=f"sequence jumps from {expected_seq - 1} to {event.seq}")
        if event.prev_hash != expected_prev:
            return ChainBreak(seq=event.seq, reason="previous hash does not match the row before it")
        recomputed = event_hash(
            stream=event.stream,
            seq=event.seq,
            kind=event.kind,
            actor_id=event.actor_id,
            actor_label=event.actor_label,
            before=event.before,
            after=event.after,
            occurred_at=event.occurred_at,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return ChainBreak(seq=event.seq, reason="content does not match its hash")
        expected_prev = event.hash
        expected_seq += 1
    head = EventStreamHead.objects.filter(stream=stream).first()
    last_seq = expected_seq - 1
    if head is None and last_seq == 0:
        return None
    if head is None or head.seq != last_seq or head.hash != expected_prev:
        recorded = head.seq if head else 0
        return ChainBreak(seq=last_seq, reason=f"the chain ends at {last_seq} but its head records {recorded}")
    return None
