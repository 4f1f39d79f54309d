from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from escalada.accounts.models import Role
from escalada.accounts.selectors import user_role
from escalada.base.errors import PermissionDenied, ValidationFailed
from escalada.base.schemas import DbId, ErrorOut, StrictSchema
from escalada.escalations import selectors, services
from escalada.escalations.models import Ladder
from escalada.sla.models import Policy

router = Router(tags=["escalation ladders"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut}
LEVELS_HELP = (
    'Ordered levels: {"trigger": metric_warning|metric_breach|unresolved_for|no_agent_reply_for, "metric": first_response|'
    'next_response|resolution (metric triggers), "offset_minutes": 30, "business_time": true, "repeat_every_minutes": null, '
    '"actions": [{"type": "assign_team", "team_id": 2}, {"type": "notify", "to": ["team_leads"]}, …]}'
)


class LadderIn(StrictSchema):
    name: str
    policy_id: DbId | None = Field(
        default=None, description="The SLA policy it belongs to; null: it stands alone with its own conditions"
    )
    rank: int = 100
    conditions: list[dict[str, Any]] = Field(default_factory=list)
    is_active: bool = True
    levels: list[dict[str, Any]] = Field(description=LEVELS_HELP)


class LadderPatchIn(StrictSchema):
    name: str | None = None
    policy_id: DbId | None = None
    rank: int | None = None
    conditions: list[dict[str, Any]] | None = None
    is_active: bool | None = None
    levels: list[dict[str, Any]] | None = Field(default=None, description=LEVELS_HELP)


class LadderOut(Schema):
    id: int
    name: str
    policy_id: int | None
    rank: int
    conditions: list[dict[str, Any]]
    is_active: bool
    levels: list[dict[str, Any]]
    version: int
    updated_at: datetime


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _admin(request: HttpRequest) -> User:
    user = _user(request)
    if user_role(user=user) != Role.ADMIN:
        raise PermissionDenied("Only admins change escalation ladders.")
    return user


def _data(sent: dict[str, Any]) -> services.LadderData:
    data: dict[str, Any] = {k: v for k, v in sent.items() if k != "policy_id"}
    if "policy_id" in sent:
        policy = Policy.objects.filter(pk=sent["policy_id"]).first() if sent["policy_id"] else None
        if sent["policy_id"] and policy is None:
            raise ValidationFailed.one("policy_id", f"There is no SLA policy {sent['policy_id']}.")
        data["policy"] = policy
    ladder_data: services.LadderData = services.LadderData(**data)  # type: ignore[typeddict-item]
    return ladder_data


@router.get("/escalation-ladders", response={200: list[LadderOut], **ERRORS}, summary="Escalation ladders")
def ladder_list(request: HttpRequest) -> list[Ladder]:
    return list(selectors.ladder_list(user=_user(request)))


@router.post("/escalation-ladders", response={201: LadderOut, **ERRORS}, summary="Create an escalation ladder")
def ladder_create(request: HttpRequest, payload: LadderIn) -> Status[Ladder]:
    """422s name the level and action: `levels[1].actions[0]`."""
    user = _admin(request)
    return Status(201, services.ladder_create(data=_data(payload.model_dump()), actor=user))


@router.get("/escalation-ladders/{id:ladder_id}", response={200: LadderOut, **ERRORS}, summary="Get a ladder")
def ladder_get(request: HttpRequest, ladder_id: int) -> Ladder:
    return selectors.ladder_get(user=_user(request), ladder_id=ladder_id)


@router.patch("/escalation-ladders/{id:ladder_id}", response={200: LadderOut, **ERRORS}, summary="Change a ladder")
def ladder_update(request: HttpRequest, ladder_id: int, payload: LadderPatchIn) -> Ladder:
    """Running escalations keep their frozen levels until re-applied on the ticket."""
    user = _admin(request)
    sent = payload.model_dump(exclude_unset=True)
    nulls = [k for k, v in sent.items() if v is None and k != "policy_id"]
    if nulls:
        raise ValidationFailed(dict.fromkeys(nulls, "Cannot be null."))
    ladder = selectors.ladder_get(user=user, ladder_id=ladder_id)
    return services.ladder_update(ladder=ladder, data=_data(sent), actor=user)
