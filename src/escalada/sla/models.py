"""Calendars, SLA policies and the clocks they run on tickets.

The arithmetic lives in `escalada.core.calendar` and `escalada.core.sla`; these rows hold its
inputs and results. A running clock's next timer instant (`next_fire_at`, the earlier of its
warning and due instants) is an indexed column the worker claims rows by; `fence` changes with
every write to a clock, so a stale worker's write does nothing.
"""

from __future__ import annotations

from django.db import models

from escalada.accounts.models import Team
from escalada.customers.models import Organization
from escalada.tickets.models import Priority, Ticket


class Metric(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_RESPONSE = "next_response", "Next response"
    RESOLUTION = "resolution", "Resolution"


class ClockState(models.TextChoices):
    RUNNING = "running", "Running"
    BREACHED = "breached", "Breached"
    PAUSED = "paused", "Paused"
    FULFILLED = "fulfilled", "Fulfilled"


class HoursSource(models.TextChoices):
    POLICY = "policy", "The policy's calendar"
    ORGANIZATION = "organization", "The customer's hours (organization calendar)"
    TEAM = "team", "The team's hours"


class Calendar(models.Model):
    """A business calendar: IANA zone, weekly opening intervals, holidays.

    `weekly` is {"mon": [["09:00", "17:00"], ...], ...}; `holidays` the explicit dates (ISO
    strings, including those imported from ICS); `holiday_country`/`holiday_subdivision` add
    a public-holiday set from the `holidays` package. `version` grows with every edit.
    """

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64)
    weekly = models.JSONField(default=dict)
    holidays = models.JSONField(default=list)
    holiday_country = models.CharField(max_length=3, blank=True)
    holiday_subdivision = models.CharField(max_length=10, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Policy(models.Model):
    """An SLA policy. Ranked: the active policy with the lowest rank whose conditions all hold wins.

    `conditions` is a list of {"field", "operator", "value"} checked by `core.matching`'s handlers.
    `pause_statuses` maps a metric to the ticket statuses that pause it.
    """

    name = models.CharField(max_length=100, unique=True)
    rank = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)
    conditions = models.JSONField(default=list)
    calendar = models.ForeignKey(Calendar, null=True, blank=True, on_delete=models.PROTECT, related_name="policies")
    hours_source = models.CharField(max_length=20, choices=HoursSource.choices, default=HoursSource.POLICY)
    is_business_time = models.BooleanField(default=True)
    pause_statuses = models.JSONField(default=dict)
    # A customer's reply within this many days of solving reopens the ticket (and its
    # escalation); after it, the reply opens a new ticket linked to this one.
    reopen_window_days = models.PositiveSmallIntegerField(default=7)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["rank", "id"]

    def __str__(self) -> str:
        return self.name


class Target(models.Model):
    """How long a metric may take for one priority under a policy, and when to warn."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(max_length=10, choices=Priority.choices)
    metric = models.CharField(max_length=20, choices=Metric.choices)
    minutes = models.PositiveIntegerField()
    warn_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    warn_minutes_before = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["policy", "priority", "metric"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "priority", "metric"], name="sla_target_unique"),
            models.CheckConstraint(
                condition=models.Q(warn_percent__isnull=True) | models.Q(warn_minutes_before__isnull=True),
                name="sla_target_one_warning",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.metric} {self.priority} {self.minutes} min"


class TeamCalendar(models.Model):
    """The team's business hours, for policies that count in the team's hours."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="sla_calendar")
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="team_links")

    def __str__(self) -> str:
        return f"{self.team_id} works on {self.calendar_id}"


class OrganizationCalendar(models.Model):
    """The customer's business hours, for policies that count in the customer's hours."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="sla_calendar")
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="organization_links")

    def __str__(self) -> str:
        return f"{self.organization_id} works on {self.calendar_id}"


class TicketPolicy(models.Model):
    """Which policy a ticket is on, and why (None when no policy matches)."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="sla_binding")
    policy = models.ForeignKey(Policy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    policy_name = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    matched_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} on {self.policy_name or 'no policy'}"


class Clock(models.Model):
    """One SLA clock of one ticket: a metric's cycle (next_response has one per customer turn).

    Durations are microseconds. `calendar` is None for calendar-time targets.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_clocks")
    metric = models.CharField(max_length=20, choices=Metric.choices)
    cycle = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=10, choices=ClockState.choices)
    policy = models.ForeignKey(Policy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    calendar = models.ForeignKey(Calendar, null=True, blank=True, on_delete=models.PROTECT, related_name="clocks")
    target_us = models.BigIntegerField()
    warn_after_us = models.BigIntegerField(null=True, blank=True)
    consumed_us = models.BigIntegerField(default=0)
    started_at = models.DateTimeField()
    running_since = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    next_fire_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    fence = models.PositiveBigIntegerField(default=1)

    class Meta:
        ordering = ["ticket", "metric", "cycle"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "metric", "cycle"], name="sla_clock_unique_cycle"),
        ]
        indexes = [
            # The worker's claim: running clocks whose warning or breach is due.
            models.Index(fields=["next_fire_at"], name="sla_clock_next_fire_idx", condition=models.Q(next_fire_at__isnull=False)),
            # Calendar edits move the running clocks on that calendar.
            models.Index(fields=["calendar", "state"], name="sla_clock_calendar_state_idx"),
            models.Index(fields=["due_at"], name="sla_clock_due_idx", condition=models.Q(due_at__isnull=False)),
            # The dashboard's "breaches today".
            models.Index(fields=["breached_at"], name="sla_clock_breached_idx", condition=models.Q(breached_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.metric}#{self.cycle} of ticket {self.ticket_id}: {self.state}"


class TimesMoved(models.Model):
    """A ticket whose SLA times a calendar edit moved, outside the desk's verbs: the escalation
    ladder follows (the worker's `ladder_follow_moved_times` job reschedules its steps and
    deletes the row). One row per ticket however many edits; the table is empty most of the time."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="+")
    moved_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"ticket {self.ticket_id}: times moved at {self.moved_at}"
