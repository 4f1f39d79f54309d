from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from escalada.accounts.models import IdempotencyKey
from escalada.accounts.selectors import user_from_api_token
from escalada.accounts.services import idempotency_key_store

Handler = Callable[[HttpRequest], HttpResponse]


def _error(status: int, detail: str, code: str, field: str | None = None, message: str | None = None) -> JsonResponse:
    errors = [{"field": field, "message": message}] if field else []
    return JsonResponse({"detail": detail, "code": code, "errors": errors}, status=status)


class BodySizeLimitMiddleware:
    """Refuse request bodies over 1 MiB with 413 before anything reads them (CSV imports: more)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def _limit(self, request: HttpRequest) -> int:
        if request.path.endswith("/import"):
            return int(settings.ESCALADA_IMPORT_MAX_BYTES)
        return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = self._limit(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return self._too_large(request, limit)
        try:
            return self.get_response(request)
        except RequestDataTooBig:
            return self._too_large(request, limit)

    @staticmethod
    def _too_large(request: HttpRequest, limit: int) -> HttpResponse:
        detail = f"The request body is larger than {limit // 1024} KiB."
        if request.path.startswith("/api/"):
            return _error(413, detail, "payload_too_large", "body", detail)
        return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")


_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyMiddleware:
    """`Idempotency-Key` on API POSTs: the first successful answer is kept for 24 hours and
    replayed to repeats of the same request; the same key with another request is a 409.

    The stored answer commits in the same transaction as the work it describes, so a crash
    leaves neither or both; two racing requests with one key both run, and the loser's work
    is rolled back and it replays the winner's answer.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        if request.path.endswith("/import"):
            # Imports are idempotent by nature (a repeat reports rows as unchanged), and their
            # bodies may exceed what this middleware could hold to fingerprint.
            return self.get_response(request)
        if not _KEY.match(key):
            return _error(
                422,
                "Some fields are not valid.",
                "validation_failed",
                "Idempotency-Key",
                "Use 1 to 255 printable ASCII characters.",
            )
        user = self._user(request)
        if user is None:
            return self.get_response(request)  # the API answers 401
        fingerprint = hashlib.sha256(b"POST " + request.path.encode() + b"\n" + request.body).hexdigest()
        now = timezone.now()
        stored = self._stored(user, key, now)
        if stored is not None:
            return self._replay(stored, fingerprint)
        with transaction.atomic():
            response = self.get_response(request)
            if not 200 <= response.status_code < 300 or response.streaming:
                return response
            if idempotency_key_store(
                user=user,
                key=key,
                fingerprint=fingerprint,
                status_code=response.status_code,
                body=response.content,
                content_type=response.get("Content-Type", "application/json"),
                now=now,
                expires_at=now + settings.ESCALADA_IDEMPOTENCY_TTL,
            ):
                return response
            # A concurrent request with this key committed first: undo ours, answer as it did.
            transaction.set_rollback(True)
        winner = self._stored(user, key, now)
        return self._replay(winner, fingerprint) if winner is not None else response

    @staticmethod
    def _user(request: HttpRequest) -> User | None:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return user_from_api_token(token=auth.removeprefix("Bearer ").strip())
        user = request.user
        return user if isinstance(user, User) and user.is_authenticated else None

    @staticmethod
    def _stored(user: User, key: str, now: datetime) -> IdempotencyKey | None:
        return IdempotencyKey.objects.filter(user=user, key=key, expires_at__gt=now).first()

    @staticmethod
    def _replay(stored: IdempotencyKey, fingerprint: str) -> HttpResponse:
        if stored.fingerprint != fingerprint:
            return JsonResponse(
                {
                    "detail": "This Idempotency-Key was used with a different request; use a new key for a new request.",
                    "code": "idempotency_key_reused",
                    "errors": [],
                },
                status=409,
            )
        response = HttpResponse(bytes(stored.response_body), status=stored.status_code, content_type=stored.content_type)
        response["Idempotent-Replayed"] = "true"
        return response


__all__ = ["BodySizeLimitMiddleware", "IdempotencyMiddleware"]
