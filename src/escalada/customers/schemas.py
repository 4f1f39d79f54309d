from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from escalada.accounts.selectors import viewer_is_customer
from escalada.base.schemas import DbId, StrictSchema
from escalada.customers.models import Contact, Organization, Tier


class OrganizationOut(Schema):
    id: int
    name: str
    domains: list[str]
    tier: Tier
    time_zone: str
    external_id: str | None = Field(description="null for customers")
    notes: str | None = Field(description="Internal notes; null for customers.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_domains(obj: Organization) -> list[str]:
        return sorted(d.domain for d in obj.domains.all())

    @staticmethod
    def resolve_external_id(obj: Organization, context: dict[str, Any]) -> str | None:
        return None if viewer_is_customer(context) else obj.external_id

    @staticmethod
    def resolve_notes(obj: Organization, context: dict[str, Any]) -> str | None:
        return None if viewer_is_customer(context) else obj.notes


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
    is_vip: bool | None = Field(description="null for customers")
    external_id: str | None = Field(description="null for customers")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_is_vip(obj: Contact, context: dict[str, Any]) -> bool | None:
        return None if viewer_is_customer(context) else obj.is_vip

    @staticmethod
    def resolve_external_id(obj: Contact, context: dict[str, Any]) -> str | None:
        return None if viewer_is_customer(context) else obj.external_id


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
