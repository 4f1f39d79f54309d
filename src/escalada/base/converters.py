"""URL converters shared by the pages and the API."""

from __future__ import annotations

from django.urls import register_converter


class IdConverter:
    """A positive 64-bit row id; longer numbers do not match (404), instead of overflowing the
    database's bigint (a 500)."""

    regex = "[1-9][0-9]{0,17}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def register() -> None:
    register_converter(IdConverter, "id")
