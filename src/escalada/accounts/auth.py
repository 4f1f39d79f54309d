"""How API callers prove who they are: a personal bearer token, or the web session (with CSRF)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from escalada.accounts.selectors import user_from_api_token


class ApiTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_from_api_token(token=token)
        if user is not None:
            request.user = user
        return user


class ActiveSessionAuth(SessionAuth):
    """Django's session (the web UI's login), CSRF-checked on unsafe methods.

    Without a session cookie there is nothing to check: the caller is simply not
    authenticated (401), rather than refused for a missing CSRF token (403).
    """

    def _get_key(self, request: HttpRequest) -> str | None:
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)


API_AUTH = [ApiTokenAuth(), ActiveSessionAuth()]
