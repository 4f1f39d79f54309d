"""Small pieces of raw SQL the set-wise paths share.

`instant` makes a timestamp read by a raw cursor aware (SQLite hands back text).

`one_of` matches a column against many values with one bound parameter on PostgreSQL
(`= ANY(%s)`, an array): a list of hundreds of placeholders costs psycopg more to convert than
the database takes to run the query. SQLite has no arrays, so it gets the `IN` list.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime


def one_of(connection: Any, column: str, values: Collection[Any]) -> tuple[str, list[Any]]:
    """`column` is one of `values`, as SQL and its parameters; no values match nothing."""
    if not values:
        return "1 = 0", []
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def instant(value: Any) -> datetime | None:
    """A timestamp as a raw cursor returns it (PostgreSQL: aware; SQLite: text in UTC) made aware."""
    if value is None or isinstance(value, datetime) and value.tzinfo is not None:
        return value
    moment = value if isinstance(value, datetime) else parse_datetime(str(value))
    if moment is None:
        raise ValueError(f"not a timestamp: {value!r}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
