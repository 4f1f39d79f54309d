from __future__ import annotations

from django.conf import settings
from django.db import models

from escalada.accounts.models import Team
from escalada.core.status import Status as CoreStatus
from escalada.customers.models import Contact, Organization


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEB = "web", "Web form"
    CHAT = "chat", "Chat"
    PHONE = "phone", "Phone"
    SOCIAL = "social", "Social"
    API = "api", "API"


class Priority(models.TextChoices):
    URGENT = "urgent", "Urgent"
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"


class Severity(models.TextChoices):
    SEV1 = "sev1", "Sev 1"
    SEV2 = "sev2", "Sev 2"
    SEV3 = "sev3", "Sev 3"
    SEV4 = "sev4", "Sev 4"


class Status(models.TextChoices):
    NEW = CoreStatus.NEW.value, "New"
    OPEN = CoreStatus.OPEN.value, "Open"
    PENDING = CoreStatus.PENDING.value, "Pending"
    ON_HOLD = CoreStatus.ON_HOLD.value, "On hold"
    SOLVED = CoreStatus.SOLVED.value, "Solved"
    CLOSED = CoreStatus.CLOSED.value, "Closed"


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public reply"
    INTERNAL = "internal", "Internal note"


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# Open tickets whose customer wrote last: the dashboard's "oldest waiting customer" walks this
# partial index from its oldest entry (the query repeats the condition so the planner uses it).
AWAITING_AGENT = models.Q(status__in=["new", "open"], last_customer_message_at__isnull=False) & (
    models.Q(last_agent_reply_at__isnull=True) | models.Q(last_agent_reply_at__lt=models.F("last_customer_message_at"))
)


AWAITING_AGENT_QUERY = models.Q(status__literal_in=["new", "open"], last_customer_message_at__isnull=False) & (
    models.Q(last_agent_reply_at__isnull=True) | models.Q(last_agent_reply_at__lt=models.F("last_customer_message_at"))
)
OPEN_STATUS_VALUES = ("new", "open", "pending", "on_hold")


class Ticket(models.Model):
    number = models.PositiveBigIntegerField(unique=True, null=True, blank=True)
    subject = models.CharField(max_length=250)
    description = models.TextField()
    channel = models.CharField(max_length=10, choices=Channel.choices)
    requester = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="tickets")
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.SEV3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_tickets"
    )
    tier = models.PositiveSmallIntegerField(default=1)
    tags = models.ManyToManyField(Tag, related_name="tickets", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_agent_reply_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveIntegerField(default=0)
    # A customer wrote again after the reopen window: this ticket continues that one.
    follow_up_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups")

    class Meta:
        indexes = [
            models.Index(fields=["status", "priority"], name="ticket_status_priority_idx"),
            models.Index(fields=["team", "status"], name="ticket_team_status_idx"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status_idx"),
            models.Index(fields=["organization", "status"], name="ticket_org_status_idx"),
            models.Index(fields=["created_at"], name="ticket_created_idx"),
            # The dashboard: open tickets by status and agent, the oldest customer waiting.
            models.Index(
                fields=["status", "assignee"],
                name="ticket_open_assignee_idx",
                condition=models.Q(status__in=list(OPEN_STATUS_VALUES)),
            ),
            models.Index(
                fields=["last_customer_message_at"],
                name="ticket_awaiting_agent_idx",
                condition=AWAITING_AGENT,
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    author_contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    body_html = models.TextField()  # sanitised by escalada.base.html before it is stored
    body_text = models.TextField()
    channel = models.CharField(max_length=10, choices=Channel.choices)
    external_message_id = models.CharField(max_length=998, null=True, blank=True, db_index=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(author_user__isnull=False) | models.Q(author_contact__isnull=False),
                name="message_has_author",
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.pk} on ticket {self.ticket_id}"

    @property
    def is_internal(self) -> bool:
        return self.visibility == Visibility.INTERNAL


class Attachment(models.Model):
    """A file that came with a message (an e-mail's attachment), within the size limits."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    content = models.BinaryField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.size} bytes)"


class SatisfactionRating(models.Model):
    """The customer's rating of a resolution (CSAT 1–5 and a comment): one per solve of the
    ticket (`round` is the ticket's reopen count when it was rated), so a reopened and solved
    again ticket is rated again."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="ratings")
    round = models.PositiveIntegerField()
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rated_at = models.DateTimeField()

    class Meta:
        ordering = ["-rated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "round"], name="rating_once_per_solve"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="rating_score_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.score}/5 for ticket {self.ticket_id}"


class Macro(models.Model):
    """A canned reply with variables ({{ ticket.number }}, {{ requester.first_name }} …) that
    fills the reply box; it may also suggest a status and whether it is an internal note."""

    name = models.CharField(max_length=100, unique=True)
    body = models.TextField()
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    set_status = models.CharField(max_length=10, choices=Status.choices, blank=True)
    is_active = models.BooleanField(default=True)
    # A team's own macro is offered on that team's tickets and to its agents; none: to everyone.
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="macros")
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SavedView(models.Model):
    """A person's named queue filter ("Billing, unassigned, urgent"): one click brings it back."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=60)
    query = models.JSONField(default=dict)  # the queue's filter, e.g. {"priority": "urgent", "assigned": "none"}
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_view_name_once")]

    def __str__(self) -> str:
        return self.name
