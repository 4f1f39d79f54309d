"""Many notifications written in one transaction, in a few statements (the timer's storm path).

Inside `outbox_batch()`, the outbox functions work exactly as outside, with two differences:
their rows are collected and inserted together when the block ends (one INSERT; a row whose
idempotency key exists already is skipped, as `_enqueue` does one by one), and the configuration
they read for every message — webhook subscriptions, notification rules, recipients, quiet
hours, mail templates — is read once per batch (`memo`). A block that raises writes nothing.

Outside a batch nothing is deferred and nothing is cached, so every other caller sees the
configuration as it is at that instant.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from escalada.base.wake import wake_workers
from escalada.notifications.models import OutboxMessage

T = TypeVar("T")


@dataclass
class _Batch:
    messages: dict[str, OutboxMessage] = field(default_factory=dict)  # by idempotency key, in order
    memo: dict[Hashable, Any] = field(default_factory=dict)


_current: ContextVar[_Batch | None] = ContextVar("escalada_outbox_batch", default=None)


@contextmanager
def outbox_batch() -> Iterator[None]:
    batch = _Batch()
    token = _current.set(batch)
    try:
        yield
    finally:
        _current.reset(token)
    if batch.messages:  # only when the block succeeded
        OutboxMessage.objects.bulk_create(list(batch.messages.values()), ignore_conflicts=True, batch_size=500)
        wake_workers()


def deferred(message: OutboxMessage) -> OutboxMessage | None:
    """Inside a batch: keep `message` for the batch's INSERT (or return the one already kept
    under its key). None outside a batch: the caller saves it now."""
    batch = _current.get()
    if batch is None:
        return None
    return batch.messages.setdefault(message.idempotency_key, message)


def memo(key: Hashable, load: Callable[[], T]) -> T:
    """`load()` once per batch for `key`; outside a batch, every time."""
    batch = _current.get()
    if batch is None:
        return load()
    if key not in batch.memo:
        batch.memo[key] = load()
    return cast(T, batch.memo[key])


def memo_put(key: Hashable, value: object) -> None:
    """Inside a batch: remember `value` for `key` (read ahead for many at once); outside, nothing."""
    batch = _current.get()
    if batch is not None:
        batch.memo[key] = value
