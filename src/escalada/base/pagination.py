"""Keyset (cursor) pagination over a descending primary key.

Offsets get slower and skip or repeat rows while tickets arrive; a cursor that says "rows
below id N" is stable and uses the primary key index. The cursor is opaque to clients.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db.models import Model, QuerySet

from escalada.base.errors import ValidationFailed

M = TypeVar("M", bound=Model)

MAX_LIMIT = 200


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        number = int(value)
        if prefix != "id" or not 1 <= number <= 2**63:
            raise ValueError(raw)
        return number
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed.one("cursor", "Not a cursor this API gave out; start again without it.") from None


@dataclass(frozen=True)
class Page(Generic[M]):
    items: list[M]
    next_cursor: str | None


def paginate_by_id(queryset: QuerySet[M], *, cursor: str | None, limit: int) -> Page[M]:
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationFailed.one("limit", f"Must be between 1 and {MAX_LIMIT}.")
    if cursor:
        queryset = queryset.filter(pk__lt=decode_cursor(cursor))
    rows = list(queryset.order_by("-pk")[: limit + 1])
    has_more = len(rows) > limit
    items = rows[:limit]
    return Page(items=items, next_cursor=encode_cursor(items[-1].pk) if has_more and items else None)
