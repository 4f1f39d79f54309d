from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ninja import Field, Schema
from pydantic import AwareDatetime, field_validator

from escalada.accounts.selectors import viewer_is_customer
from escalada.base.schemas import DbId, StrictSchema
from escalada.tickets.models import Channel, Message, Priority, Severity, Status, Ticket, Visibility


class ContactRef(Schema):
    id: int
    name: str
    email: str


class OrganizationRef(Schema):
    id: int
    name: str
    tier: str


class TeamRef(Schema):
    id: int
    name: str


class UserRef(Schema):
    id: int
    username: str
    name: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj.get_full_name() or obj.username)


class TicketOut(Schema):
    id: int
    number: int
    subject: str
    description: str
    channel: Channel
    status: Status
    priority: Priority
    severity: Severity
    tier: int | None = Field(description="null for customers")
    requester: ContactRef
    organization: OrganizationRef | None
    category: str | None
    team: TeamRef | None = Field(description="null for customers")
    assignee: UserRef | None = Field(description="null for customers")
    tags: list[str] | None = Field(description="null for customers")
    reopen_count: int
    created_at: datetime
    updated_at: datetime
    last_customer_message_at: datetime | None
    last_agent_reply_at: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None

    @staticmethod
    def resolve_category(obj: Ticket) -> str | None:
        return obj.category.slug if obj.category else None

    @staticmethod
    def resolve_tags(obj: Ticket, context: dict[str, Any]) -> list[str] | None:
        return None if viewer_is_customer(context) else sorted(tag.name for tag in obj.tags.all())

    @staticmethod
    def resolve_tier(obj: Ticket, context: dict[str, Any]) -> int | None:
        return None if viewer_is_customer(context) else obj.tier

    @staticmethod
    def resolve_team(obj: Ticket, context: dict[str, Any]) -> Any:
        return None if viewer_is_customer(context) else obj.team

    @staticmethod
    def resolve_assignee(obj: Ticket, context: dict[str, Any]) -> Any:
        return None if viewer_is_customer(context) else obj.assignee


class TicketQuery(Schema):
    status: list[Status] | None = None
    priority: list[Priority] | None = None
    severity: list[Severity] | None = None
    channel: list[Channel] | None = None
    team_id: DbId | None = None
    assignee_id: DbId | None = None
    unassigned: bool | None = None
    organization_id: DbId | None = None
    requester_id: DbId | None = None
    category: str | None = None
    tag: str | None = None
    q: str | None = Field(None, max_length=200)
    created_after: AwareDatetime | None = Field(None, description="ISO 8601 with a zone, e.g. 2026-11-01T00:00:00Z.")
    created_before: AwareDatetime | None = Field(None, description="ISO 8601 with a zone; exclusive.")
    cursor: str | None = Field(None, max_length=200)

    @field_validator("created_after", "created_before")
    @classmethod
    def _representable_in_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("Lies outside the years 1 to 9999 once converted to UTC.") from None

    limit: int = Field(50, ge=1, le=200)


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None


class TicketCreateIn(StrictSchema):
    subject: str = Field(..., max_length=250)
    description: str = Field(..., max_length=200_000)
    description_html: str | None = Field(None, max_length=400_000)
    requester_email: str | None = Field(None, max_length=254, description="Required for agents; customers write as themselves.")
    requester_name: str | None = Field(None, max_length=200)
    channel: Channel
    priority: Priority = Priority.NORMAL
    severity: Severity = Severity.SEV3
    category: str | None = Field(None, description="A category slug, e.g. billing.")
    team_id: DbId | None = None
    assignee_id: DbId | None = None
    tags: list[str] = Field(default_factory=list, max_length=20)


class TicketUpdateIn(StrictSchema):
    subject: str | None = Field(None, max_length=250)
    category: str | None = None
    priority: Priority | None = None
    severity: Severity | None = None
    tags: list[str] | None = Field(None, max_length=20)
    status: Status | None = None
    team_id: DbId | None = None
    assignee_id: DbId | None = None


class ReplyIn(StrictSchema):
    body: str | None = Field(None, max_length=200_000)
    body_html: str | None = Field(None, max_length=400_000)
    visibility: Visibility = Visibility.PUBLIC
    status: Status | None = Field(None, description="Agents: move the ticket to this status with the reply.")


class MessageOut(Schema):
    id: int
    ticket_id: int
    visibility: Visibility
    channel: Channel
    body_html: str
    body_text: str
    author_type: str
    author_name: str
    created_at: datetime

    @staticmethod
    def resolve_author_type(obj: Message) -> str:
        return "contact" if obj.author_contact_id else "agent"

    @staticmethod
    def resolve_author_name(obj: Message) -> str:
        if obj.author_contact is not None:
            return obj.author_contact.name
        if obj.author_user is not None:
            return str(obj.author_user.get_full_name() or obj.author_user.username)
        return ""


class EventOut(Schema):
    seq: int
    kind: str
    actor: str
    before: dict[str, Any]
    after: dict[str, Any]
    occurred_at: datetime
    prev_hash: str
    hash: str

    @staticmethod
    def resolve_actor(obj: Any) -> str:
        return str(obj.actor_label)


class CategoryIn(StrictSchema):
    name: str = Field(..., max_length=100)


class CategoryOut(Schema):
    id: int
    name: str
    slug: str
