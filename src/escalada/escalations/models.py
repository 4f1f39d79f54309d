"""Escalation ladders and their runs on tickets.

A ladder's `levels` are data (trigger, offset, repeat, actions; see `escalada.core.ladder` and
`services.LEVEL_HELP`). When a ladder starts on a ticket, its levels are frozen into the run's
`snapshot`: editing the ladder changes new runs only, until someone re-applies it to a ticket.
Each level's firing is an `EscalationStep` row with an indexed due instant and a fence; the
(run, level, cycle) constraint makes a second firing of the same step impossible.
"""

from __future__ import annotations

from django.db import models

from escalada.sla.models import Policy
from escalada.tickets.models import Ticket


class Ladder(models.Model):
    name = models.CharField(max_length=100, unique=True)
    policy = models.OneToOneField(Policy, null=True, blank=True, on_delete=models.SET_NULL, related_name="ladder")
    rank = models.PositiveIntegerField(default=100)  # for ladders standing alone: lower first
    conditions = models.JSONField(default=list)  # for ladders standing alone (core.matching)
    is_active = models.BooleanField(default=True)
    levels = models.JSONField(default=list)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["rank", "name"]

    def __str__(self) -> str:
        return self.name


class RunState(models.TextChoices):
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"


class EscalationRun(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalation_runs")
    ladder = models.ForeignKey(Ladder, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    ladder_name = models.CharField(max_length=100)
    ladder_version = models.PositiveIntegerField()
    snapshot = models.JSONField(default=list)  # the levels as they were when the run started
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.RUNNING)
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["ticket"], condition=models.Q(state="running"), name="escalation_one_running_run"),
        ]

    def __str__(self) -> str:
        return f"{self.ladder_name} on ticket {self.ticket_id}: {self.state}"


class StepState(models.TextChoices):
    PENDING = "pending", "Pending"  # due at due_at; waiting while due_at is null
    FIRED = "fired", "Fired"
    CANCELLED = "cancelled", "Cancelled"


class EscalationStep(models.Model):
    run = models.ForeignKey(EscalationRun, on_delete=models.CASCADE, related_name="steps")
    level = models.PositiveSmallIntegerField()  # 0-based index into the run's snapshot
    cycle = models.PositiveIntegerField(default=1)  # repeats of the level's notification
    state = models.CharField(max_length=10, choices=StepState.choices, default=StepState.PENDING)
    due_at = models.DateTimeField(null=True, blank=True)
    fence = models.PositiveBigIntegerField(default=1)
    claimed_until = models.DateTimeField(null=True, blank=True)  # a worker's lease on it, while it fires
    fired_at = models.DateTimeField(null=True, blank=True)
    is_late = models.BooleanField(default=False)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "level", "cycle"]
        constraints = [models.UniqueConstraint(fields=["run", "level", "cycle"], name="escalation_step_once")]
        indexes = [
            models.Index(
                fields=["due_at"], name="escalation_step_due_idx", condition=models.Q(state="pending", due_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"level {self.level + 1} cycle {self.cycle} of run {self.run_id}: {self.state}"
