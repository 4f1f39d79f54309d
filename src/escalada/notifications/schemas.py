from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from escalada.base.schemas import StrictSchema


class OutboxOut(Schema):
    id: int
    kind: str
    channel: str
    recipient: str
    subject: str
    state: str = Field(description="queued, sending, sent, failed (will retry) or dead (gave up)")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    idempotency_key: str
    ticket_id: int | None
    created_at: datetime
    sent_at: datetime | None


class OutboxPage(Schema):
    items: list[OutboxOut]
    next_cursor: str | None


class WebhookIn(StrictSchema):
    name: str
    url: str
    event_types: list[str] = Field(description='Event types to receive, or ["*"] for all')


class WebhookOut(Schema):
    id: int
    name: str
    url: str
    event_types: list[str]
    is_active: bool
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="The signing secret (Standard Webhooks, whsec_…): shown only in this answer")


def webhook_out(subscription: Any, *, with_secret: bool = False) -> dict[str, Any]:
    data = {
        "id": subscription.pk,
        "name": subscription.name,
        "url": subscription.url,
        "event_types": subscription.event_types,
        "is_active": subscription.is_active,
        "created_at": subscription.created_at,
    }
    if with_secret:
        data["secret"] = subscription.secret
    return data
