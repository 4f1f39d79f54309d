"""The errors services raise; the API and the pages turn them into 4xx answers.

Services never return HTTP responses; they raise one of these with a sentence a person can
act on. `ValidationFailed` names each field, so the client can show the message next to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from django.db import IntegrityError, transaction


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(ServiceError):
    status = 422
    code = "validation_failed"

    def __init__(self, errors: Mapping[str, str], message: str = "Some fields are not valid.") -> None:
        super().__init__(message)
        self.errors = dict(errors)

    @classmethod
    def one(cls, field: str, message: str) -> ValidationFailed:
        return cls({field: message})


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class PermissionDenied(ServiceError):
    status = 403
    code = "permission_denied"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


@contextmanager
def duplicates_refused(recheck: Callable[[], Mapping[str, str]], *, field: str, message: str) -> Iterator[None]:
    """Run a write in a savepoint; a unique-constraint violation becomes a field error.

    The checks before a write cannot see a row another transaction is inserting at the same
    moment; the constraint can. `recheck` runs the checks again once that row is visible, so
    the error names the right field; `field`/`message` serve when the checks still pass (e.g.
    names that differ only in a case rule the database applies differently).
    """
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        raise ValidationFailed(recheck() or {field: message}) from None
