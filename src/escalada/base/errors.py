"""The errors services raise; the API and the pages turn them into 4xx answers.

Services never return HTTP responses; they raise one of these with a sentence a person can
act on. `ValidationFailed` names each field, so the client can show the message next to it.
"""

from __future__ import annotations

from collections.abc import Mapping


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
