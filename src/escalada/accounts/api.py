from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Router, Status

from escalada.accounts import selectors, services
from escalada.accounts.models import AgentProfile, ApiToken, Role, Team
from escalada.accounts.schemas import (
    AgentIn,
    AgentOut,
    MeOut,
    TeamIn,
    TeamOut,
    TokenCreatedOut,
    TokenIn,
    TokenOut,
    user_display_name,
)
from escalada.base.errors import PermissionDenied, ValidationFailed
from escalada.base.schemas import DbId, ErrorOut

router = Router(tags=["people"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _require(user: User, roles: set[Role], what: str) -> None:
    if selectors.user_role(user=user) not in roles:
        raise PermissionDenied(what)


STAFF = {Role.AGENT, Role.TEAM_LEAD, Role.ESCALATION_MANAGER, Role.ADMIN}


@router.get("/me", response={200: MeOut, **ERRORS}, summary="Who am I")
def me(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    # A customer's contact lives in the customers area, which builds on this one: look it up by
    # the reverse relation instead of importing it.
    contact = getattr(user, "contact", None)
    return {
        "id": user.pk,
        "username": user.username,
        "name": user_display_name(user),
        "email": user.email,
        "role": str(selectors.user_role(user=user)),
        "team_ids": sorted(selectors.team_ids_of(user=user)),
        "contact_id": contact.pk if contact else None,
        "organization_id": contact.organization_id if contact else None,
    }


@router.get("/me/tokens", response={200: list[TokenOut], **ERRORS}, summary="My API tokens")
def token_list(request: HttpRequest) -> list[ApiToken]:
    return list(selectors.api_token_list(user=_user(request)))


@router.post("/me/tokens", response={201: TokenCreatedOut, **ERRORS}, summary="Create an API token (shown once)")
def token_create(request: HttpRequest, payload: TokenIn) -> Status[dict[str, Any]]:
    user = _user(request)
    issued = services.api_token_create(user=user, name=payload.name, actor=user)
    token = issued.token
    return Status(
        201,
        {
            "id": token.pk,
            "name": token.name,
            "prefix": token.prefix,
            "created_at": token.created_at,
            "last_used_at": token.last_used_at,
            "revoked_at": token.revoked_at,
            "token": issued.plaintext,
        },
    )


@router.delete("/me/tokens/{id:token_id}", response={200: TokenOut, **ERRORS}, summary="Revoke an API token")
def token_revoke(request: HttpRequest, token_id: int) -> ApiToken:
    user = _user(request)
    return services.api_token_revoke(user=user, token_id=token_id, actor=user)


@router.get("/teams", response={200: list[TeamOut], **ERRORS}, summary="List teams")
def team_list(request: HttpRequest) -> list[Team]:
    _require(_user(request), STAFF, "Only agents and admins see teams.")
    return list(selectors.team_list())


@router.post("/teams", response={201: TeamOut, **ERRORS}, summary="Create a team (admins)")
def team_create(request: HttpRequest, payload: TeamIn) -> Status[Team]:
    user = _user(request)
    _require(user, {Role.ADMIN}, "Only admins create teams.")
    team = services.team_create(name=payload.name, tier_count=payload.tier_count, description=payload.description, actor=user)
    return Status(201, team)


@router.get("/teams/{id:team_id}", response={200: TeamOut, **ERRORS}, summary="Get a team")
def team_get(request: HttpRequest, team_id: int) -> Team:
    _require(_user(request), STAFF, "Only agents and admins see teams.")
    return selectors.team_get(team_id=team_id)


@router.get("/agents", response={200: list[AgentOut], **ERRORS}, summary="List agents")
def agent_list(request: HttpRequest, team_id: DbId | None = None) -> list[AgentProfile]:
    _require(_user(request), STAFF, "Only agents and admins see the agent list.")
    return list(selectors.agent_list(team_id=team_id))


@router.post("/agents", response={201: AgentOut, **ERRORS}, summary="Create an agent (admins)")
def agent_create(request: HttpRequest, payload: AgentIn) -> Status[AgentProfile]:
    user = _user(request)
    _require(user, {Role.ADMIN}, "Only admins create agents.")
    teams = list(Team.objects.filter(pk__in=payload.team_ids))
    missing = sorted(set(payload.team_ids) - {t.pk for t in teams})
    if missing:
        raise ValidationFailed.one("team_ids", f"No team with id {', '.join(map(str, missing))}.")
    profile = services.agent_create(
        username=payload.username,
        email=payload.email,
        password=payload.password,
        full_name=payload.full_name,
        teams=teams,
        tier=payload.tier,
        time_zone=payload.time_zone,
        is_team_lead=payload.is_team_lead,
        is_escalation_manager=payload.is_escalation_manager,
        actor=user,
    )
    return Status(201, selectors.agent_get(user_id=profile.user_id))


@router.get("/agents/{id:agent_id}", response={200: AgentOut, **ERRORS}, summary="Get an agent")
def agent_get(request: HttpRequest, agent_id: int) -> AgentProfile:
    _require(_user(request), STAFF, "Only agents and admins see agents.")
    return selectors.agent_get(user_id=agent_id)
