"""Reads on the outbox and webhook subscriptions: admins only (they hold addresses and secrets)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from escalada.accounts.models import Role
from escalada.accounts.selectors import user_role
from escalada.base.errors import NotFound, PermissionDenied
from escalada.notifications.models import InboundMail, MailTemplate, OutboxMessage, WebhookSubscription


def _require_admin(user: AbstractBaseUser | AnonymousUser) -> None:
    if user_role(user=user) != Role.ADMIN:
        raise PermissionDenied("Only admins see the outbox and webhooks.")


def outbox_list(*, user: AbstractBaseUser | AnonymousUser, states: list[str] | None = None) -> QuerySet[OutboxMessage]:
    _require_admin(user)
    messages = OutboxMessage.objects.all()
    if states:
        messages = messages.filter(state__in=states)
    return messages


def outbox_get(*, user: AbstractBaseUser | AnonymousUser, message_id: int) -> OutboxMessage:
    _require_admin(user)
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None:
        raise NotFound(f"There is no outbox message {message_id}.")
    return message


def webhook_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[WebhookSubscription]:
    _require_admin(user)
    return WebhookSubscription.objects.order_by("name", "pk")


def webhook_get(*, user: AbstractBaseUser | AnonymousUser, subscription_id: int) -> WebhookSubscription:
    _require_admin(user)
    subscription = WebhookSubscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound(f"There is no webhook {subscription_id}.")
    return subscription


def inbound_list(*, user: AbstractBaseUser | AnonymousUser, states: list[str] | None = None) -> QuerySet[InboundMail]:
    _require_admin(user)
    mails = InboundMail.objects.defer("raw")
    if states:
        mails = mails.filter(state__in=states)
    return mails


def inbound_get(*, user: AbstractBaseUser | AnonymousUser, inbound_id: int) -> InboundMail:
    _require_admin(user)
    inbound = InboundMail.objects.filter(pk=inbound_id).first()
    if inbound is None:
        raise NotFound(f"There is no received mail {inbound_id}.")
    return inbound


def webhook_recent_calls(*, subscription_ids: list[int], limit: int = 500) -> list[OutboxMessage]:
    """The latest calls of these subscriptions, newest first, in one query (the delivery log)."""
    return list(
        OutboxMessage.objects.filter(subscription_id__in=subscription_ids)
        .order_by("-pk")
        .only("pk", "subscription_id", "kind", "state", "attempts", "last_error", "created_at", "sent_at")[:limit]
    )


def mail_template_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[MailTemplate]:
    """Admins' versions of the customer e-mails (a kind without one uses the shipped template)."""
    if user_role(user=user) != Role.ADMIN:
        raise PermissionDenied("Only admins see and change e-mail templates.")
    return MailTemplate.objects.order_by("kind")
