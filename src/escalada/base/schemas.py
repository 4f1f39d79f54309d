from __future__ import annotations

from ninja import Schema
from pydantic import ConfigDict


class StrictSchema(Schema):
    """Input schemas refuse fields they do not know, so a typo is an error and not a no-op."""

    model_config = ConfigDict(extra="forbid")


class FieldError(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    detail: str
    code: str
    errors: list[FieldError] = []
