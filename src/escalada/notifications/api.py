from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from escalada.accounts.models import Team
from escalada.base.errors import NotFound, ValidationFailed
from escalada.base.pagination import paginate_by_id
from escalada.base.schemas import DbId, ErrorOut, StrictSchema
from escalada.notifications import selectors, services
from escalada.notifications.internal import notification_rule_create, notification_rule_delete, quiet_hours_set
from escalada.notifications.models import NotificationRule, OutboxMessage, OutboxState
from escalada.notifications.schemas import OutboxOut, OutboxPage, WebhookCreatedOut, WebhookIn, WebhookOut, webhook_out
from escalada.tickets.selectors import category_by_slug

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


class RuleIn(StrictSchema):
    name: str
    event_types: list[str]
    team_id: DbId | None = None
    category: str | None = Field(default=None, description="A category slug; null: any")
    severities: list[str] = Field(default_factory=list, description="Empty: any severity")
    notify_assignee: bool = False
    notify_team_leads: bool = False
    notify_escalation_managers: bool = False
    user_ids: list[DbId] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list, description="A stakeholder list")
    chat_url: str = Field(default="", description="An apprise URL: slack://…, msteams://…, discord://…")


class RuleOut(Schema):
    id: int
    name: str
    is_active: bool
    event_types: list[str]
    team_id: int | None
    category_id: int | None
    severities: list[str]
    notify_assignee: bool
    notify_team_leads: bool
    notify_escalation_managers: bool
    user_ids: list[int]
    emails: list[str]
    has_chat: bool
    created_at: datetime

    @staticmethod
    def resolve_user_ids(obj: NotificationRule) -> list[int]:
        return sorted(obj.users.values_list("pk", flat=True))

    @staticmethod
    def resolve_has_chat(obj: NotificationRule) -> bool:
        return bool(obj.chat_url)


class QuietHoursIn(StrictSchema):
    start: time | None = Field(description="Local time, e.g. 22:00; null with end null removes them")
    end: time | None
    time_zone: str = "UTC"


class QuietHoursOut(Schema):
    start: time | None
    end: time | None
    time_zone: str | None


@router.get("/notification-rules", response={200: list[RuleOut], **ERRORS}, summary="Who hears about what")
def rule_list(request: HttpRequest) -> list[NotificationRule]:
    selectors.webhook_list(user=_user(request))  # the admin check
    return list(NotificationRule.objects.prefetch_related("users").order_by("name"))


@router.post("/notification-rules", response={201: RuleOut, **ERRORS}, summary="Notify people or a chat channel of events")
def rule_create(request: HttpRequest, payload: RuleIn) -> Status[NotificationRule]:
    user = _user(request)
    selectors.webhook_list(user=user)  # the admin check
    errors: dict[str, str] = {}
    team = Team.objects.filter(pk=payload.team_id).first() if payload.team_id else None
    if payload.team_id and team is None:
        errors["team_id"] = f"There is no team {payload.team_id}."
    category = None
    try:
        category = category_by_slug(payload.category)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    users = list(User.objects.filter(pk__in=payload.user_ids, is_active=True))
    if len(users) != len(set(payload.user_ids)):
        errors["user_ids"] = "Some of these users do not exist or are deactivated."
    if errors:
        raise ValidationFailed(errors)
    data = {**payload.model_dump(exclude={"team_id", "category", "user_ids"}), "team": team, "category": category, "users": users}
    return Status(201, notification_rule_create(data=data, actor=user))


@router.delete("/notification-rules/{id:rule_id}", response={204: None, **ERRORS}, summary="Delete a rule")
def rule_delete(request: HttpRequest, rule_id: int) -> Status[None]:
    user = _user(request)
    selectors.webhook_list(user=user)
    rule = NotificationRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(f"There is no notification rule {rule_id}.")
    notification_rule_delete(rule=rule, actor=user)
    return Status(204, None)


@router.put("/me/quiet-hours", response={200: QuietHoursOut, **ERRORS}, summary="Your quiet hours")
def my_quiet_hours(request: HttpRequest, payload: QuietHoursIn) -> dict[str, object]:
    """Internal e-mail waits until they end (sev1 tickets excepted)."""
    hours = quiet_hours_set(user=_user(request), start=payload.start, end=payload.end, time_zone=payload.time_zone)
    if hours is None:
        return {"start": None, "end": None, "time_zone": None}
    return {"start": hours.start, "end": hours.end, "time_zone": hours.time_zone}
