from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from escalada.audit.models import Change, Event, EventStreamHead, is_marked

GENESIS = ""


def _canonical(value: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through JSON so what we hash is exactly what the JSON column will hold.
    result: dict[str, Any] = json.loads(json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True))
    return result


def event_hash(
    *,
    stream: str,
    seq: int,
    kind: str,
    actor_id: int | None,
    actor_label: str,
    before: dict[str, Any],
    after: dict[str, Any],
    occurred_at: datetime,
    prev_hash: str,
) -> str:
    payload = {
        "stream": stream,
        "seq": seq,
        "kind": kind,
        "actor_id": actor_id,
        "actor_label": actor_label,
        "before": before,
        "after": after,
        "occurred_at": occurred_at.isoformat(timespec="microseconds"),
        "prev_hash": prev_hash,
    }
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def event_record(
    *,
    subject_type: str,
    subject_id: int,
    kind: str,
    actor: AbstractBaseUser | AnonymousUser | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
    is_new_subject: bool = False,
) -> Event:
    """Append one event to the subject's chain.

    The stream's head row is locked for the rest of the transaction, so two writers append one
    after the other; the (stream, seq) constraint backs that up. `is_new_subject` says the
    subject was created in this transaction, so its stream is empty and has no head yet.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_record must run inside the transaction of the change it records")
    stream = f"{subject_type}:{subject_id}"
    head = None if is_new_subject else EventStreamHead.objects.select_for_update().filter(stream=stream).first()
    seq, prev_hash = (head.seq + 1, head.hash) if head else (1, GENESIS)
    # Normalised to UTC: the database hands it back in UTC and the hash must match then.
    at = (occurred_at or timezone.now()).astimezone(UTC)
    actor_user = actor if actor is not None and actor.is_authenticated else None
    before_data = _canonical(before or {})
    after_data = _canonical(after or {})
    actor_id = actor_user.pk if actor_user is not None else None
    actor_label = actor_user.get_username() if actor_user is not None else "system"
    digest = event_hash(
        stream=stream,
        seq=seq,
        kind=kind,
        actor_id=actor_id,
        actor_label=actor_label,
        before=before_data,
        after=after_data,
        occurred_at=at,
        prev_hash=prev_hash,
    )
    if head is None:
        EventStreamHead.objects.create(stream=stream, seq=seq, hash=digest)
    else:
        EventStreamHead.objects.filter(stream=stream).update(seq=seq, hash=digest)
    if is_marked(subject_type, kind, {*before_data, *after_data}):
        Change.objects.create(subject_type=subject_type, subject_id=subject_id)
    return Event.objects.create(
        stream=stream,
        seq=seq,
        subject_type=subject_type,
        subject_id=subject_id,
        kind=kind,
        actor_id=actor_id,
        actor_label=actor_label,
        before=before_data,
        after=after_data,
        occurred_at=at,
        prev_hash=prev_hash,
        hash=digest,
    )


@dataclass(frozen=True)
class EventDraft:
    """One event for `event_record_many`: what `event_record` takes, less the actor and instant."""

    subject_type: str
    subject_id: int
    kind: str
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


def event_record_many(
    *, drafts: Sequence[EventDraft], actor: AbstractBaseUser | AnonymousUser | None, occurred_at: datetime
) -> list[Event]:
    """Append many events at once, each to its subject's chain, in the order given: the same
    rows and hashes `event_record` would write one by one, in a few statements (the timer's
    storm path). The streams' heads are locked together, in stream order, so two writers of
    overlapping sets queue behind each other instead of deadlocking."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_record_many must run inside the transaction of the change it records")
    if not drafts:
        return []
    streams = sorted({f"{draft.subject_type}:{draft.subject_id}" for draft in drafts})
    locked = EventStreamHead.objects.select_for_update().filter(stream__in=streams).order_by("stream")
    heads = {head.stream: (head.seq, head.hash) for head in locked}
    existing = set(heads)
    at = occurred_at.astimezone(UTC)
    actor_user = actor if actor is not None and actor.is_authenticated else None
    actor_id = actor_user.pk if actor_user is not None else None
    actor_label = actor_user.get_username() if actor_user is not None else "system"
    events = []
    for draft in drafts:
        stream = f"{draft.subject_type}:{draft.subject_id}"
        last_seq, prev_hash = heads.get(stream, (0, GENESIS))
        before_data, after_data = _canonical(draft.before), _canonical(draft.after)
        digest = event_hash(
            stream=stream,
            seq=last_seq + 1,
            kind=draft.kind,
            actor_id=actor_id,
            actor_label=actor_label,
            before=before_data,
            after=after_data,
            occurred_at=at,
            prev_hash=prev_hash,
        )
        heads[stream] = (last_seq + 1, digest)
        events.append(
            Event(
                stream=stream,
                seq=last_seq + 1,
                subject_type=draft.subject_type,
                subject_id=draft.subject_id,
                kind=draft.kind,
                actor_id=actor_id,
                actor_label=actor_label,
                before=before_data,
                after=after_data,
                occurred_at=at,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
    moved = [EventStreamHead(stream=s, seq=seq, hash=digest) for s, (seq, digest) in heads.items() if s in existing]
    EventStreamHead.objects.bulk_update(moved, ["seq", "hash"], batch_size=500)
    EventStreamHead.objects.bulk_create(
        EventStreamHead(stream=s, seq=seq, hash=digest) for s, (seq, digest) in heads.items() if s not in existing
    )
    marked = sorted({(d.subject_type, d.subject_id) for d in drafts if is_marked(d.subject_type, d.kind, {*d.before, *d.after})})
    Change.objects.bulk_create((Change(subject_type=t, subject_id=i) for t, i in marked), batch_size=500)
    return Event.objects.bulk_create(events, batch_size=500)
