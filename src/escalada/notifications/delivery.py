"""The delivery worker's job: send what the outbox holds, retry with back-off, dead-letter.

Each due message is claimed in a short transaction (an UPDATE conditional on the attempt count
read, which is the fencing token), sent outside any transaction, and its result written in
another short transaction conditional on the same token. A worker that dies after claiming
leaves the message `sending` with `next_attempt_at` at the end of its lease: it is due again
then, and sent with the same idempotency key (and the same webhook-id), so a receiver can tell
a retry from a new message. E-mail and webhooks are at-least-once; receivers deduplicate.
"""

from __future__ import annotations

import json
import logging
import random
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import apprise
import httpx
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from escalada.notifications.models import PENDING_STATES, OutboxChannel, OutboxMessage, OutboxState
from escalada.notifications.ssrf import url_problem

logger = logging.getLogger("escalada.delivery")

FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(hours=72)
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True)
class Outcome:
    is_sent: bool
    error: str = ""
    is_permanent: bool = False


def retry_delay(*, key: str, attempt: int) -> timedelta:
    """Exponential back-off from a minute, capped at six hours, with ±25 % jitter that is the
    same for a given message and attempt (so tests and reruns are repeatable)."""
    base = min(FIRST_RETRY * (1 << min(attempt - 1, 20)), LONGEST_WAIT)
    jitter = random.Random(f"{key}:{attempt}").uniform(0.75, 1.25)  # noqa: S311 - spreading retries, not secrecy
    return base * jitter


def webhook_id(message: OutboxMessage) -> str:
    """Stable across retries and replays: receivers deduplicate on it."""
    return f"msg_{message.pk}_{message.idempotency_key.rsplit(':', 1)[-1][:16]}"


def _send_email(message: OutboxMessage) -> Outcome:
    headers = dict(message.headers)
    mail = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.recipient],
        reply_to=[settings.DEFAULT_FROM_EMAIL],
        headers=headers,
    )
    if message.body_html:
        mail.attach_alternative(message.body_html, "text/html")
    try:
        with get_connection(timeout=settings.EMAIL_TIMEOUT) as connection:
            connection.send_messages([mail])
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return Outcome(
            False, f"The mail server refused the recipient: {exc.recipients}", is_permanent=all(c >= 500 for c in codes)
        )
    except smtplib.SMTPResponseException as exc:
        return Outcome(False, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", is_permanent=exc.smtp_code >= 500)
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}")
    return Outcome(True)


def _send_webhook(message: OutboxMessage, client: httpx.Client) -> Outcome:
    subscription = message.subscription
    if subscription is None:
        return Outcome(False, "The webhook subscription was deleted.", is_permanent=True)
    problem = url_problem(message.recipient, allowed_hosts=settings.ESCALADA_WEBHOOK_ALLOWED_HOSTS)
    if problem:
        return Outcome(False, problem, is_permanent=True)
    body = json.dumps(message.payload, separators=(",", ":"), sort_keys=True)
    msg_id = webhook_id(message)
    # The receiver checks the timestamp against its own clock: it is when we send, not when the
    # message fell due.
    sent_at = timezone.now().astimezone(UTC)
    headers = {
        "content-type": "application/json",
        "user-agent": "Escalada-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(subscription.secret).sign(msg_id, sent_at, body),
    }
    try:
        response = client.post(message.recipient, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}")
    if 200 <= response.status_code < 300:
        return Outcome(True)
    detail = f"HTTP {response.status_code}: {response.text[:200]!r}"
    return Outcome(False, detail, is_permanent=response.status_code == 410)  # 410 Gone: stop


def _claim(pk: int, attempts: int, now: datetime) -> bool:
    # The lease outlasts any send (timeouts are 10 s); a worker that dies leaves the message due
    # again when it ends.
    lease = timedelta(seconds=settings.ESCALADA_OUTBOX_LEASE_SECONDS)
    return (
        OutboxMessage.objects.filter(pk=pk, attempts=attempts, state__in=PENDING_STATES, next_attempt_at__lte=now).update(
            state=OutboxState.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + lease
        )
        == 1
    )


def _record(message: OutboxMessage, outcome: Outcome, now: datetime) -> None:
    attempt = message.attempts  # the claimed count, our token
    if outcome.is_sent:
        fields: dict[str, object] = {"state": OutboxState.SENT, "sent_at": now, "next_attempt_at": None, "last_error": ""}
    else:
        wait = retry_delay(key=message.idempotency_key, attempt=attempt)
        gives_up = outcome.is_permanent or now + wait - message.created_at > GIVE_UP_AFTER
        fields = {
            "state": OutboxState.DEAD if gives_up else OutboxState.FAILED,
            "next_attempt_at": None if gives_up else now + wait,
            "last_error": outcome.error[:2000],
        }
    updated = OutboxMessage.objects.filter(pk=message.pk, attempts=attempt, state=OutboxState.SENDING).update(**fields)
    if updated != 1:
        logger.warning("outbox message %s changed while it was being sent; its result was not recorded", message.pk)


def _send_chat(message: OutboxMessage) -> Outcome:
    """A chat message through apprise (Slack, Microsoft Teams Workflows, Discord, Mattermost…)."""
    sender = apprise.Apprise()
    if not sender.add(message.recipient):
        return Outcome(False, "Not a chat URL apprise understands.", is_permanent=True)
    if sender.notify(title=message.subject, body=message.body_text):
        return Outcome(True)
    return Outcome(False, "The chat service did not accept the message (see the worker's log for apprise's reason).")


def deliver_one(message: OutboxMessage, *, client: httpx.Client) -> Outcome:
    if message.channel == OutboxChannel.EMAIL:
        return _send_email(message)
    if message.channel == OutboxChannel.CHAT:
        return _send_chat(message)
    return _send_webhook(message, client)


def outbox_deliver_due(*, now: datetime, limit: int = 50) -> int:
    """Send the messages due at `now`; returns how many attempts were made."""
    due = list(
        OutboxMessage.objects.filter(state__in=PENDING_STATES, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", "attempts")[:limit]
    )
    tried = 0
    if not due:
        return 0  # an HTTP client costs ~20 ms to build (its TLS context): not on an idle turn
    # One HTTP client per batch: connections to the same receiver are kept alive between calls.
    with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False) as client:
        for pk, attempts in due:
            if not _claim(pk, attempts, now):
                continue  # another worker took it
            message = OutboxMessage.objects.select_related("subscription").get(pk=pk)
            try:
                outcome = deliver_one(message, client=client)
            except Exception as exc:  # a bug in one message must not stop the others; retried later
                logger.exception("outbox message %s failed", pk)
                outcome = Outcome(False, f"{type(exc).__name__}: {exc}")
            _record(message, outcome, now)
            tried += 1
    return tried
