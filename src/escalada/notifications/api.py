from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from escalada.base.errors import ValidationFailed
from escalada.base.pagination import paginate_by_id
from escalada.base.schemas import ErrorOut
from escalada.notifications import selectors, services
from escalada.notifications.models import OutboxMessage, OutboxState
from escalada.notifications.schemas import OutboxOut, OutboxPage, WebhookCreatedOut, WebhookIn, WebhookOut, webhook_out

router = Router(tags=["notifications"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


class OutboxQuery(Schema):
    state: list[OutboxState] | None = None
    cursor: str | None = None
    limit: int = 50


@router.get("/outbox", response={200: OutboxPage, **ERRORS}, summary="Outgoing e-mails and webhook calls")
def outbox_list(request: HttpRequest, params: Query[OutboxQuery]) -> dict[str, object]:
    """Newest first; `?state=dead&state=failed` for what did not go out. Admins only."""
    messages = selectors.outbox_list(user=_user(request), states=[s.value for s in params.state or []])
    page = paginate_by_id(messages, cursor=params.cursor, limit=params.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/outbox/{id:message_id}/replay", response={200: OutboxOut, **ERRORS}, summary="Send a dead message again")
def outbox_replay(request: HttpRequest, message_id: int) -> OutboxMessage:
    """Queues it for now, with the same idempotency key (and webhook-id). 409 unless it is dead or failing."""
    user = _user(request)
    return services.outbox_replay(message=selectors.outbox_get(user=user, message_id=message_id), actor=user)


@router.get("/webhooks", response={200: list[WebhookOut], **ERRORS}, summary="Webhook subscriptions")
def webhook_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [webhook_out(s) for s in selectors.webhook_list(user=_user(request))]


@router.post("/webhooks", response={201: WebhookCreatedOut, **ERRORS}, summary="Subscribe a URL to events")
def webhook_create(request: HttpRequest, payload: WebhookIn) -> Status[dict[str, Any]]:
    """Calls are signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
    `webhook-signature`) with the secret in this answer, shown once."""
    user = _user(request)
    selectors.webhook_list(user=user)  # the admin check
    if any("\r" in t or "\n" in t for t in payload.event_types):
        raise ValidationFailed.one("event_types", "Event types are single words such as ticket.created.")
    subscription = services.webhook_subscription_create(
        name=payload.name, url=payload.url, event_types=payload.event_types, actor=user
    )
    return Status(201, webhook_out(subscription, with_secret=True))


@router.delete("/webhooks/{id:subscription_id}", response={204: None, **ERRORS}, summary="Unsubscribe")
def webhook_delete(request: HttpRequest, subscription_id: int) -> Status[None]:
    user = _user(request)
    services.webhook_subscription_delete(
        subscription=selectors.webhook_get(user=user, subscription_id=subscription_id), actor=user
    )
    return Status(204, None)
