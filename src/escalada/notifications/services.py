"""Writes into the outbox: customer e-mails and webhook calls, in the caller's transaction.

Nothing is sent here. Each function adds rows that the delivery worker sends after the
transaction commits; a rolled-back change leaves no row behind. Every row has a unique
idempotency key, so the same notification is never queued twice.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from escalada.audit.services import event_record
from escalada.base.errors import Conflict, ValidationFailed
from escalada.base.wake import wake_workers
from escalada.notifications.batching import deferred, memo, memo_put
from escalada.notifications.mail_templates import mail_context, render_mail, template_problems
from escalada.notifications.models import MailTemplate, OutboxChannel, OutboxMessage, OutboxState, WebhookSubscription
from escalada.notifications.ssrf import url_problem
from escalada.tickets.models import Message, Ticket

# Events another system may subscribe to.
EVENT_TYPES = (
    "ticket.created",
    "ticket.replied",
    "ticket.note_added",
    "ticket.status_changed",
    "ticket.updated",
    "ticket.assigned",
    "sla.warning",
    "sla.breached",
    "escalation.level_fired",
    "escalation.opened",
    "escalation.raised",
    "escalation.transferred",
    "escalation.de_escalated",
    "escalation.status_changed",
    "escalation.approval_requested",
    "escalation.approved",
    "escalation.rejected",
    "escalation.resolved",
    "escalation.reopened",
    "escalation.risk_exceeded",
)


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def header_problem(value: str) -> str | None:
    """E-mail header values are one line: a CR or LF would let text inject headers."""
    if "\r" in value or "\n" in value:
        return "Must be one line: line breaks are not allowed here (they would break e-mail headers)."
    return None


def mail_domain() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "escalada.localhost"


def thread_root_id(ticket: Ticket) -> str:
    """The Message-ID every mail about a ticket refers to, so mail clients keep one thread."""
    return f"<ticket-{ticket.pk}@{mail_domain()}>"


def subject_token(ticket: Ticket) -> str:
    """The token customer replies carry in their subject, found again when they come back."""
    return f"[#{ticket.number}]"


def _enqueue(message: OutboxMessage) -> OutboxMessage:
    """Add the row unless one with the same idempotency key exists (then return that one).
    Inside `outbox_batch()` the row is kept for the batch's one INSERT instead."""
    kept = deferred(message)
    if kept is not None:
        return kept
    existing = OutboxMessage.objects.filter(idempotency_key=message.idempotency_key).first()
    if existing is not None:
        return existing
    wake_workers()
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        return OutboxMessage.objects.get(idempotency_key=message.idempotency_key)
    return message


def email_enqueue(
    *,
    kind: str,
    to: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    headers: dict[str, str] | None = None,
    ticket: Ticket | None,
    idempotency_key: str,
    now: datetime | None = None,
    send_at: datetime | None = None,
) -> OutboxMessage:
    """Queue one e-mail, to be sent from `send_at` (default: now). Header values with a line
    break are refused (no header injection)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("email_enqueue runs inside the transaction of the change it reports")
    errors = {}
    for field, value in {"to": to, "subject": subject, **(headers or {})}.items():
        problem = header_problem(value)
        if problem:
            errors[field] = problem
    if errors:
        raise ValidationFailed(errors)
    at = _now(now)
    message_id = (
        f"<ticket-{ticket.pk if ticket else 0}.{hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]}@{mail_domain()}>"
    )
    return _enqueue(
        OutboxMessage(
            kind=kind,
            channel=OutboxChannel.EMAIL,
            recipient=to,
            subject=subject[:300],
            body_text=body_text,
            body_html=body_html,
            headers={"Message-ID": message_id, **(headers or {})},
            idempotency_key=idempotency_key,
            ticket=ticket,
            created_at=at,
            next_attempt_at=send_at or at,
        )
    )


def _thread_headers(ticket: Ticket) -> dict[str, str]:
    """In-Reply-To the customer's latest e-mail on the ticket (else the thread root), and
    References from the root through the customer's e-mails, so replies thread everywhere."""
    root = thread_root_id(ticket)
    inbound = memo(("inbound_ids", ticket.pk), lambda: _inbound_ids([ticket.pk]).get(ticket.pk, []))
    references = [root, *(mid for mid in inbound if mid and not header_problem(mid))]
    return {"In-Reply-To": references[-1], "References": " ".join(references)}


THREAD_DEPTH = 8  # the customer's e-mails a reply's References name, at most


def _inbound_ids(ticket_ids: list[int]) -> dict[int, list[str]]:
    """The Message-IDs of the customer's latest e-mails on each ticket, oldest first."""
    latest = Window(RowNumber(), partition_by=[F("ticket_id")], order_by=[F("created_at").desc(), F("pk").desc()])
    rows = (
        Message.objects.filter(ticket_id__in=ticket_ids, author_contact__isnull=False, external_message_id__isnull=False)
        .annotate(recency=latest)
        .filter(recency__lte=THREAD_DEPTH)
        .order_by("ticket_id", "-recency")
        .values_list("ticket_id", "external_message_id")
    )
    found: dict[int, list[str]] = {}
    for ticket_id, message_id in rows:
        found.setdefault(ticket_id, []).append(message_id or "")
    return found


def thread_headers_preload(ticket_ids: list[int]) -> None:
    """Inside a batch (`outbox_batch`): read what the customer mails' threading headers need for
    all these tickets in one query, instead of one query a mail."""
    found = _inbound_ids(ticket_ids)
    for ticket_id in ticket_ids:
        memo_put(("inbound_ids", ticket_id), found.get(ticket_id, []))


def _customer_email(
    *, kind: str, ticket: Ticket, message: Message | None = None, key: str, now: datetime, extra: dict[str, Any] | None = None
) -> OutboxMessage:
    rendered = render_mail(kind, {**mail_context(ticket=ticket, message=message), **(extra or {})})
    return email_enqueue(
        kind=f"customer.{kind}",
        to=ticket.requester.email,
        subject=rendered.subject,
        body_text=rendered.body_text,
        body_html=rendered.body_html,
        headers=_thread_headers(ticket),
        ticket=ticket,
        idempotency_key=key,
        now=now,
    )


def customer_notify_received(*, ticket: Ticket, now: datetime) -> OutboxMessage:
    """ "We have your request": the ticket number, and that replies to this mail join it."""
    return _customer_email(kind="ticket_received", ticket=ticket, key=f"ticket:{ticket.pk}:received", now=now)


def customer_notify_reply(*, ticket: Ticket, message: Message, now: datetime) -> OutboxMessage:
    """An agent's public reply, sent to the requester."""
    return _customer_email(kind="agent_reply", ticket=ticket, message=message, key=f"message:{message.pk}:to-customer", now=now)


REOPEN_SALT = "escalada.reopen"


def reopen_url(ticket: Ticket) -> str:
    """A link that reopens this solve of the ticket (signed; good for one reopen)."""
    token = signing.dumps({"t": ticket.pk, "r": ticket.reopen_count}, salt=REOPEN_SALT, compress=True)
    return f"{settings.BASE_URL.rstrip('/')}/support/reopen/{token}"


def reopen_token_read(token: str) -> tuple[int, int] | None:
    """(ticket id, reopen count) from a reopen link's token; None when it was not ours."""
    try:
        data = signing.loads(token, salt=REOPEN_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), int) or not isinstance(data.get("r"), int):
        return None
    return data["t"], data["r"]


def customer_notify_solved(*, ticket: Ticket, now: datetime, resolution_summary: str = "") -> OutboxMessage:
    """Solved, and how to reopen (reply to this mail, or the link); with what went wrong and
    what was done about it when an escalation's root cause says so."""
    return _customer_email(
        kind="ticket_solved",
        ticket=ticket,
        key=f"ticket:{ticket.pk}:solved:{ticket.reopen_count}",
        extra={"resolution": {"summary": resolution_summary}, "reopen_url": reopen_url(ticket)},
        now=now,
    )


def customer_notify_escalated(*, ticket: Ticket, level: int, now: datetime) -> OutboxMessage:
    """In customer words: a specialist team has the request now."""
    return _customer_email(
        kind="ticket_escalated", ticket=ticket, key=f"ticket:{ticket.pk}:escalated:{level}:{now.isoformat()}", now=now
    )


def webhooks_dispatch(*, kind: str, data: dict[str, Any], ticket: Ticket | None, now: datetime) -> list[OutboxMessage]:
    """Queue one call per active subscription to `kind` (or to every event, "*")."""
    if kind not in EVENT_TYPES:
        raise ValueError(f"{kind!r} is not a webhook event type")
    queued = []
    subscriptions = active_subscriptions()
    for subscription in subscriptions:
        if kind not in subscription.event_types and "*" not in subscription.event_types:
            continue
        key = f"webhook:{subscription.pk}:{uuid.uuid4().hex}"
        payload = {"type": kind, "timestamp": now.astimezone(UTC).isoformat().replace("+00:00", "Z"), "data": data}
        queued.append(
            _enqueue(
                OutboxMessage(
                    kind=kind,
                    channel=OutboxChannel.WEBHOOK,
                    recipient=subscription.url,
                    payload=payload,
                    idempotency_key=key,
                    ticket=ticket,
                    subscription=subscription,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
        )
    return queued


def active_subscriptions() -> list[WebhookSubscription]:
    """The active webhook subscriptions (read once per batch inside `outbox_batch`)."""
    return memo("webhook_subscriptions", lambda: list(WebhookSubscription.objects.filter(is_active=True).order_by("pk")))


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    """What webhooks say about a ticket (ids and words; no message bodies)."""
    return {
        "ticket_id": ticket.pk,
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "severity": ticket.severity,
        "channel": ticket.channel,
        "organization_id": ticket.organization_id,
        "team_id": ticket.team_id,
        "assignee_id": ticket.assignee_id,
    }


# --- webhook subscriptions ----------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _check_subscription(*, name: str, url: str, event_types: list[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not 1 <= len(name.strip()) <= 100:
        errors["name"] = "Give the webhook a name of 1 to 100 characters."
    if len(url) > 2000:
        errors["url"] = "A URL has at most 2000 characters."
    else:
        problem = url_problem(url, allowed_hosts=settings.ESCALADA_WEBHOOK_ALLOWED_HOSTS)
        if problem:
            errors["url"] = problem
    unknown = [t for t in event_types if t != "*" and t not in EVENT_TYPES]
    if not event_types:
        errors["event_types"] = f"Choose at least one event type: {', '.join(EVENT_TYPES)} (or * for all)."
    elif unknown:
        errors["event_types"] = f"Unknown event type(s) {', '.join(unknown)}; use {', '.join(EVENT_TYPES)} or *."
    return errors


@transaction.atomic
def webhook_subscription_create(
    *, name: str, url: str, event_types: list[str], actor: User | None, now: datetime | None = None
) -> WebhookSubscription:
    errors = _check_subscription(name=name, url=url, event_types=event_types)
    if errors:
        raise ValidationFailed(errors)
    subscription = WebhookSubscription.objects.create(
        name=name.strip(), url=url, event_types=sorted(set(event_types)), secret=new_secret(), created_at=_now(now)
    )
    event_record(
        subject_type="webhook",
        subject_id=subscription.pk,
        kind="webhook.created",
        is_new_subject=True,
        actor=actor,
        occurred_at=subscription.created_at,
        after={"name": subscription.name, "url": url, "event_types": subscription.event_types},
    )
    return subscription


@transaction.atomic
def webhook_subscription_delete(*, subscription: WebhookSubscription, actor: User | None, now: datetime | None = None) -> None:
    """Stop calling it. Messages already queued for it are marked dead, so nothing goes out later."""
    at = _now(now)
    event_record(
        subject_type="webhook",
        subject_id=subscription.pk,
        kind="webhook.deleted",
        actor=actor,
        occurred_at=at,
        before={"name": subscription.name, "url": subscription.url, "event_types": subscription.event_types},
    )
    OutboxMessage.objects.filter(subscription=subscription, state__in=[OutboxState.QUEUED, OutboxState.FAILED]).update(
        state=OutboxState.DEAD, next_attempt_at=None, last_error="The webhook subscription was deleted."
    )
    subscription.delete()


@transaction.atomic
def outbox_replay(*, message: OutboxMessage, actor: User | None, now: datetime | None = None) -> OutboxMessage:
    """Send a dead (or failing) message again, now. Same idempotency key, same webhook-id."""
    message = OutboxMessage.objects.select_for_update().get(pk=message.pk)
    if message.state not in (OutboxState.DEAD, OutboxState.FAILED):
        raise Conflict(f"Only dead or failing messages are replayed; this one is {message.state}.")
    at = _now(now)
    before = {"state": message.state, "attempts": message.attempts, "last_error": message.last_error}
    message.state = OutboxState.QUEUED
    message.next_attempt_at = at
    wake_workers()
    message.save(update_fields=["state", "next_attempt_at"])
    event_record(
        subject_type="outbox",
        subject_id=message.pk,
        kind="outbox.replayed",
        actor=actor,
        occurred_at=at,
        before=before,
        after={"state": message.state},
    )
    return message


@transaction.atomic
def mail_template_save(*, kind: str, subject: str, body_text: str, body_html: str, actor: User | None) -> MailTemplate:
    """An admin's version of a customer e-mail; a template that does not parse saves nothing."""
    errors = template_problems(kind=kind, subject=subject, body_text=body_text, body_html=body_html)
    if errors:
        raise ValidationFailed(errors)
    parts = {"subject": subject, "body_text": body_text, "body_html": body_html}
    template, created = MailTemplate.objects.update_or_create(kind=kind, defaults={**parts, "updated_at": timezone.now()})
    event_record(
        subject_type="mail_template",
        subject_id=template.pk,
        kind="mail_template.changed",
        is_new_subject=created,
        actor=actor,
        after={"kind": kind, **parts},
    )
    return template


def mail_template_reset(*, kind: str) -> None:
    """Back to the shipped template."""
    MailTemplate.objects.filter(kind=kind).delete()
