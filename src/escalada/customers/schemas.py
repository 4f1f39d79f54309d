from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from escalada.base.schemas import DbId, StrictSchema
from escalada.customers.models import Organization, Tier


class OrganizationOut(Schema):
    id: int
    name: str
    domains: list[str]
    tier: Tier
    time_zone: str
    external_id: str | None
    notes: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_domains(obj: Organization) -> list[str]:
        return sorted(d.domain for d in obj.domains.all())


class OrganizationPage(Schema):
    items: list[OrganizationOut]
    next_cursor: str | None


class OrganizationIn(StrictSchema):
    name: str = Field(..., max_length=200)
    domains: list[str] = Field(default_factory=list, max_length=50)
    tier: Tier = Tier.STANDARD
    time_zone: str = "UTC"
    external_id: str | None = Field(None, max_length=100)
    notes: str = Field("", max_length=20_000)


class OrganizationPatch(StrictSchema):
    name: str | None = Field(None, max_length=200)
    domains: list[str] | None = Field(None, max_length=50)
    tier: Tier | None = None
    time_zone: str | None = None
    external_id: str | None = Field(None, max_length=100)
    notes: str | None = Field(None, max_length=20_000)


class ContactOut(Schema):
    id: int
    name: str
    email: str
    phone: str
    organization_id: int | None
    time_zone: str
    is_vip: bool
    external_id: str | None
    created_at: datetime
    updated_at: datetime


class ContactPage(Schema):
    items: list[ContactOut]
    next_cursor: str | None


class ContactIn(StrictSchema):
    name: str = Field("", max_length=200)
    email: str = Field(..., max_length=254)
    phone: str = Field("", max_length=40)
    organization_id: DbId | None = Field(None, description="Left out: matched by the e-mail domain.")
    time_zone: str | None = None
    is_vip: bool = False
    external_id: str | None = Field(None, max_length=100)


class ContactPatch(StrictSchema):
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    organization_id: DbId | None = None
    time_zone: str | None = None
    is_vip: bool | None = None
    external_id: str | None = Field(None, max_length=100)


class ImportOut(Schema):
    created: int
    updated: int
    unchanged: int
