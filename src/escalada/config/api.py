"""The REST API root: /api/v1/…, OpenAPI at /api/openapi.json, docs at /api/docs (served locally).

Every error leaves in one shape: `{"detail": sentence, "code": word, "errors": [{"field", "message"}]}`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.types import DictStrAny

from escalada.accounts.api import router as accounts_router
from escalada.accounts.auth import API_AUTH
from escalada.base.errors import ServiceError, ValidationFailed
from escalada.customers.api import router as customers_router
from escalada.desk.api import router as tickets_router
from escalada.desk.escalation_api import router as escalations_router
from escalada.desk.intake import router as intake_router
from escalada.desk.mail_api import router as inbound_router
from escalada.escalations.api import router as ladders_router
from escalada.escalations.config_api import router as escalation_settings_router
from escalada.insights.api import router as insights_router
from escalada.notifications.api import router as notifications_router
from escalada.notifications.templates_api import router as templates_router
from escalada.sla.api import router as sla_router


class StrictJSONParser(Parser):
    """JSON and query strings, refusing NUL characters with a field error.

    PostgreSQL cannot store NUL in text, and no ticket needs one; without this check such a
    value would reach the database and fail there as a 500.
    """

    def parse_body(self, request: HttpRequest) -> DictStrAny:
        data = super().parse_body(request)
        _refuse_nul(data, ("body",))
        return data

    def parse_querydict(self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest) -> DictStrAny:
        parsed = super().parse_querydict(data, list_fields, request)
        _refuse_nul(parsed, ("query",))
        return parsed


def _refuse_nul(value: object, path: tuple[str | int, ...]) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError([{"loc": path, "msg": "Contains a NUL character, which is not allowed.", "type": "nul_character"}])
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, path)
            _refuse_nul(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_nul(item, (*path, index))


api = NinjaAPI(
    title="Escalada API",
    version="1",
    description=(
        "Escalation management for customer support. Authenticate with a personal token "
        "(`Authorization: Bearer esc_…`, created on your profile page or with `escalada token create`) "
        "or the web session. POST requests accept an `Idempotency-Key` header."
    ),
    auth=API_AUTH,
    parser=StrictJSONParser(),
    urls_namespace="api",
    docs_url="/docs",
)
api.add_router("/v1/", accounts_router)
api.add_router("/v1/", customers_router)
api.add_router("/v1/", tickets_router)
api.add_router("/v1/", sla_router)
api.add_router("/v1/", ladders_router)
api.add_router("/v1/", escalations_router)
api.add_router("/v1/", escalation_settings_router)
api.add_router("/v1/", notifications_router)
api.add_router("/v1/", inbound_router)
api.add_router("/v1/", intake_router)
api.add_router("/v1/", templates_router)
api.add_router("/v1/", insights_router)


def _error(request: HttpRequest, status: int, detail: str, code: str, errors: list[dict[str, str]] | None = None) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code, "errors": errors or []}, status=status)


_LOCATIONS = {"body", "query", "path", "header", "cookie", "form", "file"}


def _field_name(loc: list[Any] | tuple[Any, ...]) -> str:
    # Ninja reports ("body", "payload", "priority"): the client knows the field as "priority".
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOCATIONS:
        location, rest = parts[0], parts[1:]
        if rest and rest[0] in {"payload", "params"}:  # the operation's schema argument
            rest = rest[1:]
        return ".".join(rest) or location
    return ".".join(parts)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for item in exc.errors:
        message = str(item.get("msg", "Not valid."))
        if item.get("type") == "extra_forbidden":
            message = "Unknown field; see /api/docs for the fields this operation takes."
        errors.append({"field": _field_name(item.get("loc", ())), "message": message})
    return _error(request, 422, "Some fields are not valid.", "validation_failed", errors)


@api.exception_handler(ServiceError)
def on_service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    errors = [{"field": f, "message": m} for f, m in exc.errors.items()] if isinstance(exc, ValidationFailed) else []
    return _error(request, exc.status, exc.message, exc.code, errors)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "Sign in, or send a token: Authorization: Bearer esc_….", "not_authenticated")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, ValidationError):  # raised by StrictJSONParser while Ninja parsed the body
        return on_validation_error(request, exc.__cause__)
    if exc.status_code == 403 and "CSRF" in str(exc):
        return _error(
            request, 403, "Send the csrftoken cookie's value in an X-CSRFToken header, or use a bearer token.", "csrf_failed"
        )
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | UnicodeDecodeError | RecursionError):
        return _error(
            request,
            422,
            "The body is not valid JSON.",
            "validation_failed",
            [{"field": "body", "message": "Send a JSON object."}],
        )
    return _error(request, exc.status_code, str(exc), "http_error")
