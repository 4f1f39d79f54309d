"""Small pieces of raw SQL the set-wise paths share.

`one_of` matches a column against many values with one bound parameter on PostgreSQL
(`= ANY(%s)`, an array): a list of hundreds of placeholders costs psycopg more to convert than
the database takes to run the query. SQLite has no arrays, so it gets the `IN` list.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


def one_of(connection: Any, column: str, values: Collection[Any]) -> tuple[str, list[Any]]:
    """`column` is one of `values`, as SQL and its parameters; no values match nothing."""
    if not values:
        return "1 = 0", []
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)
