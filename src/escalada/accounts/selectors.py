from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import QuerySet
from django.utils import timezone

from escalada.accounts.models import AgentProfile, ApiToken, Role, Team
from escalada.base.errors import NotFound

TOKEN_PREFIX = "esc"  # noqa: S105 - the visible start of every token, not a secret


def user_role(*, user: AbstractBaseUser | AnonymousUser) -> Role | None:
    """The strongest role a user holds; None for anonymous or inactive users."""
    if not user.is_authenticated or not user.is_active:
        return None
    return account_role(user=user)


def account_role(*, user: AbstractBaseUser | AnonymousUser) -> Role:
    """The role an account is set up with, active or not (what Settings → People shows and changes)."""
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    profile = agent_profile_of(user=user)
    if profile is None:
        return Role.CUSTOMER
    if profile.is_escalation_manager:
        return Role.ESCALATION_MANAGER
    if profile.is_team_lead:
        return Role.TEAM_LEAD
    return Role.AGENT


def agent_profile_of(*, user: AbstractBaseUser | AnonymousUser) -> AgentProfile | None:
    try:
        profile: AgentProfile = user.agent_profile  # type: ignore[union-attr]
    except (AgentProfile.DoesNotExist, AttributeError):
        return None
    return profile


def is_staff_role(role: Role | None) -> bool:
    return role in {Role.AGENT, Role.TEAM_LEAD, Role.ESCALATION_MANAGER, Role.ADMIN}


def team_ids_of(*, user: AbstractBaseUser | AnonymousUser) -> set[int]:
    profile = agent_profile_of(user=user)
    if profile is None:
        return set()
    return set(profile.teams.values_list("pk", flat=True))


def team_list() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def team_get(*, team_id: int) -> Team:
    try:
        return Team.objects.get(pk=team_id)
    except Team.DoesNotExist:
        raise NotFound(f"No team with id {team_id}.") from None


def agent_list(*, team_id: int | None = None) -> QuerySet[AgentProfile]:
    agents = AgentProfile.objects.select_related("user").prefetch_related("teams").order_by("user__username")
    if team_id is not None:
        agents = agents.filter(teams__pk=team_id)
    return agents


def agent_get(*, user_id: int) -> AgentProfile:
    try:
        return AgentProfile.objects.select_related("user").prefetch_related("teams").get(user_id=user_id)
    except AgentProfile.DoesNotExist:
        raise NotFound(f"No agent with id {user_id}.") from None


def hash_token_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def user_from_api_token(*, token: str) -> User | None:
    """The active user a bearer token belongs to, or None. Constant-time on the secret."""
    parts = token.split("_", 2)  # the secret itself may contain "_"
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    _, prefix, secret = parts
    try:
        # get(), not first(): the prefix is unique, and first() would add an ORDER BY to a hot query.
        row = ApiToken.objects.select_related("user").get(prefix=prefix, revoked_at__isnull=True)
    except ApiToken.DoesNotExist:
        return None
    if not hmac.compare_digest(row.secret_hash, hash_token_secret(secret)):
        return None
    if not row.user.is_active:
        return None
    now = timezone.now()
    # Touch at most once a minute: a write per request would serialise API traffic on SQLite.
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def viewer_is_customer(context: Mapping[str, Any] | None) -> bool:
    """For API output schemas: is the person the response is for a customer?

    Fields for the support team only (internal notes on organizations, tags, who handles a
    ticket) come out as null for customers. The answer is kept on the request, so a list
    asks the database once, not once per row.
    """
    request = (context or {}).get("request")
    if request is None:
        return False
    cached = getattr(request, "_escalada_viewer_is_customer", None)
    if cached is None:
        cached = user_role(user=request.user) == Role.CUSTOMER
        request._escalada_viewer_is_customer = cached
    return bool(cached)
