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
from escalada.base.sql import one_of

GENESIS = ""


def _canonical(value: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through JSON so what we hash is exactly what the JSON column will hold.
    return _canonical_text(value)[1]


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
) -> int:
    """Append many events at once, each to its subject's chain, in the order given: the same
    rows and hashes `event_record` would write one by one, in a few statements (the timer's
    storm path). The streams' heads are locked together, in stream order, so two writers of
    overlapping sets queue behind each other instead of deadlocking; a head another writer
    created meanwhile makes the (stream, seq) constraint refuse the whole set. Returns how many
    it wrote.

    The rows go in without model instances: one COPY on PostgreSQL, one `executemany` on
    SQLite; the heads in one upsert."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_record_many must run inside the transaction of the change it records")
    if not drafts:
        return 0
    streams = sorted({f"{draft.subject_type}:{draft.subject_id}" for draft in drafts})
    heads = _heads_lock(streams)
    at = occurred_at.astimezone(UTC)
    actor_user = actor if actor is not None and actor.is_authenticated else None
    actor_id = actor_user.pk if actor_user is not None else None
    actor_label = actor_user.get_username() if actor_user is not None else "system"
    rows: list[tuple[Any, ...]] = []
    for draft in drafts:
        stream = f"{draft.subject_type}:{draft.subject_id}"
        last_seq, prev_hash = heads.get(stream, (0, GENESIS))
        before_text, before_data = _canonical_text(draft.before)
        after_text, after_data = _canonical_text(draft.after)
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
        rows.append(
            (stream, last_seq + 1, draft.subject_type, draft.subject_id, draft.kind, actor_id, actor_label)
            + (before_text, after_text, at, prev_hash, digest)
        )
    with transaction.get_connection().cursor() as cursor:
        rows_insert(cursor, Event._meta.db_table, EVENT_COLUMNS, rows)
        heads_upsert(cursor, [(stream, *heads[stream]) for stream in streams])
    marked = sorted({(d.subject_type, d.subject_id) for d in drafts if is_marked(d.subject_type, d.kind, {*d.before, *d.after})})
    Change.objects.bulk_create((Change(subject_type=t, subject_id=i) for t, i in marked), batch_size=500)
    return len(rows)


EVENT_COLUMNS = (
    "stream",
    "seq",
    "subject_type",
    "subject_id",
    "kind",
    "actor_id",
    "actor_label",
    "before",
    "after",
    "occurred_at",
    "prev_hash",
    "hash",
)


def _canonical_text(value: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """`value` as the JSON column will hold it, in words and read back (what the hash covers)."""
    if not value:
        return "{}", {}
    text = json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)
    data: dict[str, Any] = json.loads(text)
    return text, data


def rows_insert(cursor: Any, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert `rows` as they are (JSON as text, instants aware): PostgreSQL's COPY, else one
    `executemany`. Errors come out as Django's (an IntegrityError for a constraint)."""
    connection = cursor.db
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    if connection.vendor == "postgresql":
        with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    moment = connection.ops.adapt_datetimefield_value
    adapted = [tuple(moment(value) if isinstance(value, datetime) else value for value in row) for row in rows]
    cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})", adapted)  # noqa: S608 - names from the model


def _heads_lock(streams: list[str]) -> dict[str, tuple[int, str]]:
    """The heads of `streams` that exist, locked in stream order (PostgreSQL; SQLite's writer
    holds the database): {stream: (seq, hash)}."""
    connection = transaction.get_connection()
    where, params = one_of(connection, "stream", streams)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    table = EventStreamHead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT stream, seq, hash FROM {table} WHERE {where} ORDER BY stream{lock}", params)  # noqa: S608 - names from the model
        return {stream: (int(seq), digest) for stream, seq, digest in cursor.fetchall()}


def heads_upsert(cursor: Any, heads: Sequence[tuple[str, int, str]]) -> None:
    """Set each stream's head (stream, seq, hash) in one statement, creating those that are new."""
    table = EventStreamHead._meta.db_table
    params: list[Any]
    if cursor.db.vendor == "postgresql":  # three arrays: one parameter each, however many heads
        rows = "SELECT * FROM unnest(%s::varchar[], %s::integer[], %s::varchar[])"
        params = [list(column) for column in zip(*heads, strict=True)]
    else:
        rows = "VALUES " + ", ".join(["(%s, %s, %s)"] * len(heads))
        params = [value for head in heads for value in head]
    cursor.execute(
        f"INSERT INTO {table} (stream, seq, hash) {rows} "  # noqa: S608 - names from the model
        "ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        params,
    )
