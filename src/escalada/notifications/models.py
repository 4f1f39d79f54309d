"""The outbox and webhook subscriptions.

Every e-mail and webhook call is an `OutboxMessage` row written in the transaction of the change
that caused it; the delivery worker sends it later. `next_attempt_at` is the one indexed column
the worker claims by: a queued or retrying message is due at it, and a message being sent has
it set to the end of its lease, so one whose worker died is due again when the lease runs out.
`attempts` doubles as the fencing token: a worker writes its result only if the count it
claimed is still the row's.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from escalada.accounts.models import Team
from escalada.tickets.models import Category, Ticket


class OutboxChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"
    CHAT = "chat", "Chat (Slack, Teams… through apprise)"


class OutboxState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed, will retry"
    DEAD = "dead", "Dead (gave up)"


PENDING_STATES = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.FAILED)


class WebhookSubscription(models.Model):
    """Another system that wants events: where, which event types, and the signing secret."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=2000)
    event_types = models.JSONField(default=list)  # e.g. ["ticket.created", "sla.breached"]; ["*"] for all
    secret = models.CharField(max_length=200)  # Standard Webhooks "whsec_<base64>"
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} → {self.url}"


class OutboxMessage(models.Model):
    kind = models.CharField(max_length=60)  # what it tells: "customer.ticket_received", "sla.breached"…
    channel = models.CharField(max_length=10, choices=OutboxChannel.choices)
    recipient = models.CharField(max_length=2000)  # an e-mail address or a URL
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    headers = models.JSONField(default=dict)  # e-mail: Message-ID, In-Reply-To, References
    payload = models.JSONField(default=dict)  # webhook: the JSON body
    idempotency_key = models.CharField(max_length=200, unique=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox_messages")
    subscription = models.ForeignKey(
        WebhookSubscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    state = models.CharField(max_length=10, choices=OutboxState.choices, default=OutboxState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_due_idx",
                condition=models.Q(state__in=["queued", "sending", "failed"]),
            ),
            models.Index(fields=["state", "id"], name="outbox_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} to {self.recipient}: {self.state}"


class InboundState(models.TextChoices):
    RECEIVED = "received", "Received, not processed yet"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (auto-reply, bounce or duplicate)"
    QUARANTINED = "quarantined", "Quarantined"


class InboundMail(models.Model):
    """A received e-mail, stored raw before anything else is done with it, so nothing a customer
    sent is ever lost; then processed into a ticket or a reply, ignored (an auto-reply or a bounce,
    with the reason) or quarantined (with the reason) for an admin to look at and re-process."""

    raw = models.BinaryField()
    source = models.CharField(max_length=10)  # smtp, imap, api
    envelope_from = models.CharField(max_length=998, blank=True)
    envelope_to = models.JSONField(default=list)
    header_message_id = models.CharField(max_length=998, blank=True, db_index=True)
    state = models.CharField(max_length=12, choices=InboundState.choices, default=InboundState.RECEIVED)
    reason = models.TextField(blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_mails")
    message = models.ForeignKey("tickets.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["state", "id"], name="inbound_state_idx")]

    def __str__(self) -> str:
        return f"inbound mail {self.pk}: {self.state}"


class NotificationRule(models.Model):
    """Who inside the support organisation hears about what: events, narrowed by team, category
    and severity, sent to people by role, named users, a stakeholder list and/or a chat channel."""

    name = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)
    event_types = models.JSONField(default=list)  # e.g. ["sla.warning", "sla.breached"]
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")  # None: any
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    severities = models.JSONField(default=list)  # empty: any
    notify_assignee = models.BooleanField(default=False)
    notify_team_leads = models.BooleanField(default=False)
    notify_escalation_managers = models.BooleanField(default=False)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    emails = models.JSONField(default=list)  # a stakeholder list: plain addresses
    chat_url = models.CharField(max_length=2000, blank=True)  # an apprise URL (slack://…, msteams://…, json://…)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class QuietHours(models.Model):
    """A person's quiet hours in their own time zone: internal notifications wait until they
    end (sev1 tickets excepted). `start` after `end` spans midnight (22:00-07:00)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiet_hours")
    start = models.TimeField()
    end = models.TimeField()
    time_zone = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.user_id}: quiet {self.start}-{self.end} {self.time_zone}"


class MailTemplate(models.Model):
    """An admin's version of a customer e-mail (Django template syntax); without one, the file
    template shipped in notifications/templates/notifications/email/ is used."""

    kind = models.CharField(max_length=40, unique=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"template {self.kind}"


class Mailbox(models.Model):
    """An IMAP mailbox `escalada mail imap` fetches customer e-mail from (besides the one in
    ESCALADA_IMAP_*). The password is stored as given, like a webhook's secret: the poller must
    send it; protect the database and its backups accordingly."""

    name = models.CharField(max_length=100, unique=True)
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField(default=993)
    is_ssl = models.BooleanField(default=True)
    username = models.CharField(max_length=254)
    password = models.CharField(max_length=500)
    folder = models.CharField(max_length=200, default="INBOX")
    is_active = models.BooleanField(default=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_stored = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.username}@{self.host})"


class IntakeSecret(models.Model):
    """A shared secret that signs calls to the intake API (chat, phone, social webhooks). Several
    may be active at once, so a secret is rotated without a gap: add the new one, move the
    integration over, revoke the old one."""

    name = models.CharField(max_length=100)
    secret = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)  # what the list shows
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
