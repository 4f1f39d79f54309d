from __future__ import annotations

from django.conf import settings
from django.db import models


class Event(models.Model):
    """One append-only audit record: who did what to which subject, when, with before/after.

    Events form one hash chain per stream ("ticket:42", "organization:7"): each row stores the
    hash of the previous row of its stream and its own hash over its content, so an edited or
    deleted row breaks the chain and `event_chain_verify` finds it.
    """

    stream = models.CharField(max_length=64)
    seq = models.PositiveIntegerField()
    subject_type = models.CharField(max_length=32)
    subject_id = models.BigIntegerField()
    kind = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    actor_label = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    class Meta:
        # Every reader goes by stream (the timeline, the chain check): the (stream, seq) index
        # serves them. No index by subject or kind: nothing reads that way, and each index is one
        # more write for every event (the timer's storms write ten thousand a second). The actor
        # index only holds people's events — what deleting a user checks (PROTECT) — not the
        # system's.
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="audit_event_stream_seq_unique")]
        indexes = [
            models.Index(fields=["actor"], name="audit_event_actor_idx", condition=models.Q(actor__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.stream}#{self.seq} {self.kind}"


class EventStreamHead(models.Model):
    """Where each stream's chain ends: its last seq and hash.

    Without it, deleting the newest events of a stream would leave a shorter chain that still
    verifies. Writers also lock this row, so one stream's events are appended one at a time.
    """

    stream = models.CharField(max_length=64, primary_key=True)
    seq = models.PositiveIntegerField()
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.stream} at {self.seq}"


# Subjects whose changes feed read models (the report rollups): a ticket, an escalation of a
# ticket, an organization (its tier is a report dimension of all its tickets).
MARKED_SUBJECTS = frozenset({"ticket", "escalation", "organization"})
# Events that only record that a timer fired and people were told: no report fact depends on
# them (a level's actions that change the ticket record events of their own). Not marking them
# keeps a storm of ladder notifications from queueing a refresh per ticket for nothing.
UNMARKED_KINDS = frozenset({"escalation.level_fired", "sla.warning"})


# An organization is a report dimension of its tickets through its tier only: other edits (name,
# domains, notes) would re-mark every ticket it has for nothing.
ORGANIZATION_FIELDS_MARKED = frozenset({"tier"})


def is_marked(subject_type: str, kind: str, changed: frozenset[str] | set[str] = frozenset()) -> bool:
    if subject_type not in MARKED_SUBJECTS or kind in UNMARKED_KINDS:
        return False
    return subject_type != "organization" or bool(ORGANIZATION_FIELDS_MARKED & set(changed))


class Change(models.Model):
    """A subject changed and the read models have not caught up with it yet.

    Written in the same transaction as the event, so a change is marked exactly when it
    commits; the insights consumer claims these rows, refreshes what they name and deletes
    them. Nothing else reads them: the table is empty most of the time.
    """

    subject_type = models.CharField(max_length=32)
    subject_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.subject_type}:{self.subject_id}"
