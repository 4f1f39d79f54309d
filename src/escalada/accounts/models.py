from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Role(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    AGENT = "agent", "Agent"
    TEAM_LEAD = "team_lead", "Team lead"
    ESCALATION_MANAGER = "escalation_manager", "Escalation manager"
    ADMIN = "admin", "Admin"


class Team(models.Model):
    """A group of agents with support tiers L1…Ln (tier_count levels)."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    tier_count = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1), MaxValueValidator(9)])
    description = models.TextField(blank=True)
    # When a ticket is transferred to this team, how many minutes it has to pick it up: the
    # internal clock that makes "waiting on engineering" visible and measured. None: no target.
    transfer_target_minutes = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=models.Q(tier_count__gte=1), name="team_tier_count_positive")]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """Makes a user an agent: their teams, tier and flags. Users without one are customers or admins."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile")
    teams = models.ManyToManyField(Team, related_name="agents", blank=True)
    tier = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(9)])
    time_zone = models.CharField(max_length=64, default="UTC")
    is_team_lead = models.BooleanField(default=False)
    is_escalation_manager = models.BooleanField(default=False)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(tier__gte=1), name="agent_tier_positive")]

    def __str__(self) -> str:
        return f"{self.user} (L{self.tier})"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is kept; the token is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyKey(models.Model):
    """The first successful answer to a POST carrying an Idempotency-Key, replayed on repeats."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.BinaryField()
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code})"
