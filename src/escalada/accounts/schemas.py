from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from ninja import Field, Schema

from escalada.accounts.models import AgentProfile
from escalada.base.schemas import DbId, StrictSchema


class TeamOut(Schema):
    id: int
    name: str
    slug: str
    tier_count: int
    description: str


class TeamIn(StrictSchema):
    name: str = Field(..., max_length=120)
    tier_count: int = Field(3, ge=1, le=9)
    description: str = Field("", max_length=2000)


class AgentOut(Schema):
    id: int
    username: str
    name: str
    email: str
    tier: int
    time_zone: str
    is_team_lead: bool
    is_escalation_manager: bool
    team_ids: list[int]

    @staticmethod
    def resolve_id(obj: AgentProfile) -> int:
        return int(obj.user_id)

    @staticmethod
    def resolve_username(obj: AgentProfile) -> str:
        return obj.user.username

    @staticmethod
    def resolve_name(obj: AgentProfile) -> str:
        return obj.user.get_full_name() or obj.user.username

    @staticmethod
    def resolve_email(obj: AgentProfile) -> str:
        return obj.user.email

    @staticmethod
    def resolve_team_ids(obj: AgentProfile) -> list[int]:
        return sorted(t.pk for t in obj.teams.all())


class AgentIn(StrictSchema):
    username: str = Field(..., max_length=150)
    email: str = Field(..., max_length=254)
    full_name: str = Field("", max_length=300)
    password: str | None = Field(None, description="Left out: the agent cannot sign in until a password is set.")
    team_ids: list[DbId] = Field(default_factory=list, max_length=50)
    tier: int = Field(1, ge=1, le=9)
    time_zone: str = "UTC"
    is_team_lead: bool = False
    is_escalation_manager: bool = False


class MeOut(Schema):
    id: int
    username: str
    name: str
    email: str
    role: str
    team_ids: list[int]
    contact_id: int | None
    organization_id: int | None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(..., description="Shown once; only a hash is kept.")


class TokenIn(StrictSchema):
    name: str = Field(..., max_length=100)


def user_display_name(user: User) -> str:
    return user.get_full_name() or user.username
