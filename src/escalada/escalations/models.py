"""Escalation ladders and their runs on tickets.

A ladder's `levels` are data (trigger, offset, repeat, actions; see `escalada.core.ladder` and
`services.LEVEL_HELP`). When a ladder starts on a ticket, its levels are frozen into the run's
`snapshot`: editing the ladder changes new runs only, until someone re-applies it to a ticket.
Each level's firing is an `EscalationStep` row with an indexed due instant and a fence; the
(run, level, occurrence, cycle) constraint makes a second firing of the same step impossible.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from escalada.accounts.models import Team
from escalada.core.escalation import ACTIVE as CORE_ACTIVE
from escalada.core.escalation import EscalationStatus as CoreStatus
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
    # No index of its own: the (run, level, occurrence, cycle) constraint's index serves lookups by run, and
    # one index less is one write less for every step a storm fires.
    run = models.ForeignKey(EscalationRun, on_delete=models.CASCADE, related_name="steps", db_index=False)
    level = models.PositiveSmallIntegerField()  # 0-based index into the run's snapshot
    # Which occurrence of the level's trigger (core.ladder.level_occurrence): a next_response
    # clock's cycle, an unanswered customer message; a level fires once per occurrence.
    occurrence = models.BigIntegerField(default=1)
    cycle = models.PositiveIntegerField(default=1)  # repeats of the level's notification
    state = models.CharField(max_length=10, choices=StepState.choices, default=StepState.PENDING)
    due_at = models.DateTimeField(null=True, blank=True)
    fence = models.PositiveBigIntegerField(default=1)
    claimed_until = models.DateTimeField(null=True, blank=True)  # a worker's lease on it, while it fires
    fired_at = models.DateTimeField(null=True, blank=True)
    is_late = models.BooleanField(default=False)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "level", "occurrence", "cycle"]
        constraints = [models.UniqueConstraint(fields=["run", "level", "occurrence", "cycle"], name="escalation_step_once")]
        indexes = [
            models.Index(
                fields=["due_at"], name="escalation_step_due_idx", condition=models.Q(state="pending", due_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"level {self.level + 1} occurrence {self.occurrence} cycle {self.cycle} of run {self.run_id}: {self.state}"


# The escalation record -------------------------------------------------------------------------
#
# An `Escalation` is the case file of one escalation of one ticket: at most one is active per
# ticket (escalating again raises its level; a new one opens only after it ended). Its `hops`
# are every move up, across or down, with the hand-off note and the response target of the level
# reached; the rest (action plan, contributors, approvals, root cause) hang off it. The
# admin-editable lists (reasons, decision categories, root-cause categories), the matrix and
# the playbooks are configuration rows.


class ListEntry(models.Model):
    """An entry of a list admins edit (reasons, decision categories, root-cause categories):
    a name people read, a slug rows and reports keep, a rank, and retirement instead of deletion."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    rank = models.PositiveIntegerField(default=100)
    is_active = models.BooleanField(default=True)

    class Meta:
        abstract = True
        ordering = ["rank", "name"]

    def __str__(self) -> str:
        return self.name


class Reason(ListEntry):
    """Why something was escalated."""

    class Meta(ListEntry.Meta):
        pass


class DecisionCategory(ListEntry):
    """The matrix's rows, ranked: security before outage before technical …"""

    class Meta(ListEntry.Meta):
        verbose_name_plural = "decision categories"


class RootCauseCategory(ListEntry):
    class Meta(ListEntry.Meta):
        verbose_name_plural = "root-cause categories"


class MatrixCell(models.Model):
    """Decision category × severity → the escalation path. A null category or severity means
    "any": the row's fallback, and with both null the matrix's explicit default."""

    key = models.CharField(max_length=80, unique=True)  # "<category slug or *>:<severity or *>"
    category = models.ForeignKey(DecisionCategory, null=True, blank=True, on_delete=models.CASCADE, related_name="cells")
    severity = models.CharField(max_length=10, null=True, blank=True)
    path = models.JSONField(default=list)  # [{"team_id", "tier", "role", "user_id", "response_minutes"}, …]
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class Playbook(models.Model):
    """An action-plan template: steps with a role and a due time relative to the escalation."""

    name = models.CharField(max_length=100, unique=True)
    category = models.ForeignKey(DecisionCategory, null=True, blank=True, on_delete=models.SET_NULL, related_name="playbooks")
    steps = models.JSONField(default=list)  # [{"title", "role", "due_minutes"}, …]
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApprovalRule(models.Model):
    """Escalations of this category (null: any) and these severities (empty: any) need sign-off
    before they are resolved, by people with one of these roles or these named people."""

    category = models.ForeignKey(DecisionCategory, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    severities = models.JSONField(default=list)
    approver_roles = models.JSONField(default=list)  # "team_lead", "escalation_manager", "admin"
    approvers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"sign-off rule {self.pk}"


class EscalationSettings(models.Model):
    """One row (pk 1): the risk appetite and who hears of risks above it, and the reopen rule."""

    risk_appetite = models.PositiveSmallIntegerField(default=12)  # scores above it alert the executives
    executives = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    executive_emails = models.JSONField(default=list)
    escalate_on_reopen = models.PositiveSmallIntegerField(null=True, blank=True)  # the Nth reopen escalates

    class Meta:
        verbose_name_plural = "escalation settings"

    def __str__(self) -> str:
        return "escalation settings"


class EscalationType(models.TextChoices):
    HIERARCHICAL = "hierarchical", "Hierarchical"
    FUNCTIONAL = "functional", "Functional"
    AUTOMATIC = "automatic", "Automatic"
    CUSTOMER_REQUESTED = "customer_requested", "Customer-requested"


class EscalationStatus(models.TextChoices):
    OPEN = CoreStatus.OPEN.value, "Open"
    ACKNOWLEDGED = CoreStatus.ACKNOWLEDGED.value, "Acknowledged"
    IN_PROGRESS = CoreStatus.IN_PROGRESS.value, "In progress"
    AWAITING_APPROVAL = CoreStatus.AWAITING_APPROVAL.value, "Awaiting approval"
    RESOLVED = CoreStatus.RESOLVED.value, "Resolved"
    DE_ESCALATED = CoreStatus.DE_ESCALATED.value, "De-escalated"
    REOPENED = CoreStatus.REOPENED.value, "Reopened"


ACTIVE_STATUSES = sorted(s.value for s in CORE_ACTIVE)


class Escalation(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalations")
    type = models.CharField(max_length=20, choices=EscalationType.choices)
    status = models.CharField(max_length=20, choices=EscalationStatus.choices, default=EscalationStatus.OPEN)
    level = models.PositiveSmallIntegerField(default=1)  # 1-based, on `path`
    path = models.JSONField(default=list)  # the matrix path frozen when the escalation opened
    path_reason = models.CharField(max_length=200, blank=True)
    reason = models.ForeignKey(Reason, on_delete=models.PROTECT, related_name="escalations")
    reason_text = models.TextField(blank=True)
    tags = models.JSONField(default=list)
    severity = models.CharField(max_length=10)
    category = models.ForeignKey(DecisionCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    from_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_escalations"
    )
    handoff_note = models.TextField()
    context = models.JSONField(default=dict)  # the snapshot taken when it opened
    risk_likelihood = models.PositiveSmallIntegerField(null=True, blank=True)
    risk_impact = models.PositiveSmallIntegerField(null=True, blank=True)
    re_escalation_count = models.PositiveIntegerField(default=0)
    is_resolution_held = models.BooleanField(default=False)  # resolved pending sign-off; the customer hears on approval
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    in_progress_at = models.DateTimeField(null=True, blank=True)
    awaiting_approval_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    de_escalated_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"], condition=models.Q(status__in=ACTIVE_STATUSES), name="escalation_one_active_per_ticket"
            ),
            models.CheckConstraint(condition=models.Q(level__gte=1), name="escalation_level_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "opened_at"], name="escalation_status_opened_idx"),
            models.Index(fields=["owner", "status"], name="escalation_owner_status_idx"),
            # The dashboard: active escalations by level, status and team.
            models.Index(
                fields=["status", "level", "to_team"],
                name="escalation_active_idx",
                condition=models.Q(status__in=ACTIVE_STATUSES),
            ),
        ]

    def __str__(self) -> str:
        return f"escalation {self.pk} of ticket {self.ticket_id} (L{self.level}, {self.status})"

    @property
    def risk_score(self) -> int | None:
        if self.risk_likelihood is None or self.risk_impact is None:
            return None
        return self.risk_likelihood * self.risk_impact

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class Hop(models.Model):
    """One move of an escalation: up a level, across to another team, or back down. A level
    with a response target gives the hop a due instant; the receiving side's first action
    (a reply, a note, an acknowledgement) answers it."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="hops")
    type = models.CharField(max_length=20)  # an EscalationType, or "de_escalation"
    from_level = models.PositiveSmallIntegerField()
    to_level = models.PositiveSmallIntegerField()
    from_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_tier = models.PositiveSmallIntegerField(null=True, blank=True)
    to_tier = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.TextField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    response_due_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(
                fields=["response_due_at"],
                name="hop_response_due_idx",
                condition=models.Q(responded_at__isnull=True, response_due_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} L{self.from_level}→L{self.to_level} of escalation {self.escalation_id}"


class ActionStep(models.Model):
    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="action_steps")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    role = models.CharField(max_length=60, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    due_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    playbook_name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        indexes = [
            models.Index(fields=["due_at"], name="action_step_due_idx", condition=models.Q(done_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.title


class Contributor(models.Model):
    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="contributors")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contributions")
    role = models.CharField(max_length=60, blank=True)
    added_at = models.DateTimeField()
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["added_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["escalation", "user"], name="contributor_once")]

    def __str__(self) -> str:
        return f"{self.user} on escalation {self.escalation_id}"


class ApprovalState(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Approval(models.Model):
    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="approvals")
    state = models.CharField(max_length=10, choices=ApprovalState.choices, default=ApprovalState.PENDING)
    approver_roles = models.JSONField(default=list)  # who may decide, frozen when requested
    approver_ids = models.JSONField(default=list)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField()
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["requested_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["escalation"], condition=models.Q(state="pending"), name="approval_one_pending"),
        ]

    def __str__(self) -> str:
        return f"approval {self.pk} of escalation {self.escalation_id}: {self.state}"


class RootCause(models.Model):
    escalation = models.OneToOneField(Escalation, on_delete=models.CASCADE, related_name="root_cause")
    category = models.ForeignKey(RootCauseCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    description = models.TextField(blank=True)
    corrective_action = models.TextField(blank=True)
    preventive_action = models.TextField(blank=True)
    owning_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    customer_summary = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"root cause of escalation {self.escalation_id}"
