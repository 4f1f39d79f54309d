from __future__ import annotations

from typing import Annotated

from ninja import Field, Schema
from pydantic import ConfigDict

# Row ids are 64-bit: a larger number would overflow in the database (a 500), so it is refused
# up front as any other invalid value.
MAX_DB_ID = 2**63 - 1
DbId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]


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
