"""The read models behind the reports: one fact row per ticket and per-day rollups.

A ticket's **fact row** holds its report dimensions (creation day in the report time zone,
team, category, channel, priority, severity, organization tier, SLA policy) and what has
happened to it (solved, reopened, escalated, SLA met or breached, ratings…). The two
**rollups** sum those rows per day and dimension; the escalation rollup is keyed also by the
escalation's reason and root-cause category. Reports read the rollups; they never scan tickets.

The consumer (`insights.services.rollup_catch_up`) keeps them in step: it recomputes a changed
ticket's facts, and moves the difference from the old dimensions to the new ones, in one
transaction. Measures are integers (counts, seconds), so sums are exact on both databases.
"""

from __future__ import annotations

from django.db import models

# Dimensions of both rollups, in key order. Absent values are 0 / "" (never NULL, so the
# unique key matches them).
DIMENSIONS = ("day", "team_id", "category_id", "channel", "priority", "severity", "org_tier", "policy_id")
# Each fact is summed twice: per day ("d") and per month ("m", `day` = the 1st). A long range
# reads the months it covers whole and the days of the months it covers in part.
GRAINS = ("d", "m")
ROLLUP_KEYS = ("grain", *DIMENSIONS)
ESCALATION_KEYS = ("reason_id", "root_cause_id")

METRIC_PREFIXES = {"first_response": "fr", "next_response": "nr", "resolution": "res"}
TIER_BUCKETS = ("t1", "t2", "t3", "t4")  # the ticket's tier 1, 2, 3, and 4 or above

TICKET_MEASURES = (
    "tickets",
    "solved",
    "fcr",
    "ever_solved",
    "reopened",
    "reopens",
    "escalated",
    "escalations",
    "tte_s",
    "tte_n",
    *(f"{p}_{m}" for p in METRIC_PREFIXES.values() for m in ("met", "breached", "late_s", "late_n")),
    "csat_n",
    "csat_sum",
    "csat_good",
    "csat_esc_n",
    "csat_esc_sum",
    "csat_esc_good",
)
ESCALATION_MEASURES = (
    "escalations",
    "re_escalated",
    "resolved",
    "resolve_s",
    "de_escalated",
    "approvals",
    "approval_s",
    *(f"{b}_{m}" for b in TIER_BUCKETS for m in ("s", "n")),
)


class TicketFact(models.Model):
    """One ticket as the reports see it; `contribution` is what it last added to the rollups."""

    ticket_id = models.BigIntegerField(primary_key=True)
    day = models.DateField()
    team_id = models.BigIntegerField(default=0)
    category_id = models.BigIntegerField(default=0)
    channel = models.CharField(max_length=10)
    priority = models.CharField(max_length=10)
    severity = models.CharField(max_length=10)
    org_tier = models.CharField(max_length=20, blank=True)
    policy_id = models.BigIntegerField(default=0)
    organization_id = models.BigIntegerField(default=0)
    tickets = models.IntegerField(default=1)
    escalations = models.IntegerField(default=0)
    contribution = models.JSONField(default=dict)

    class Meta:
        indexes = [
            # "By customer": the escalated tickets of a range, then the few customers found.
            models.Index(fields=["day"], name="fact_escalated_day_idx", condition=models.Q(escalations__gt=0)),
            models.Index(fields=["organization_id", "day"], name="fact_org_day_idx"),
        ]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} facts"


class OpenTicketCount(models.Model):
    """Open tickets now, by status, team and assignee: the dashboard's first tiles and the agent
    load, kept by the same catch-up as the rollups (a few seconds behind), so the dashboard reads
    a few dozen rows instead of visiting every open ticket."""

    status = models.CharField(max_length=10)
    team_id = models.BigIntegerField(default=0)
    assignee_id = models.BigIntegerField(default=0)
    tickets = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["status", "team_id", "assignee_id"], name="open_ticket_count_key")]

    def __str__(self) -> str:
        return f"{self.status} {self.team_id}/{self.assignee_id}: {self.tickets}"


class TicketRollup(models.Model):
    """Tickets created on a day (or in a month) with these dimensions, and what happened to them since."""

    grain = models.CharField(max_length=1, default="d")
    day = models.DateField()
    team_id = models.BigIntegerField(default=0)
    category_id = models.BigIntegerField(default=0)
    channel = models.CharField(max_length=10)
    priority = models.CharField(max_length=10)
    severity = models.CharField(max_length=10)
    org_tier = models.CharField(max_length=20, blank=True)
    policy_id = models.BigIntegerField(default=0)
    tickets = models.BigIntegerField(default=0)
    solved = models.BigIntegerField(default=0)
    fcr = models.BigIntegerField(default=0)
    ever_solved = models.BigIntegerField(default=0)
    reopened = models.BigIntegerField(default=0)
    reopens = models.BigIntegerField(default=0)
    escalated = models.BigIntegerField(default=0)
    escalations = models.BigIntegerField(default=0)
    tte_s = models.BigIntegerField(default=0)
    tte_n = models.BigIntegerField(default=0)
    fr_met = models.BigIntegerField(default=0)
    fr_breached = models.BigIntegerField(default=0)
    fr_late_s = models.BigIntegerField(default=0)
    fr_late_n = models.BigIntegerField(default=0)
    nr_met = models.BigIntegerField(default=0)
    nr_breached = models.BigIntegerField(default=0)
    nr_late_s = models.BigIntegerField(default=0)
    nr_late_n = models.BigIntegerField(default=0)
    res_met = models.BigIntegerField(default=0)
    res_breached = models.BigIntegerField(default=0)
    res_late_s = models.BigIntegerField(default=0)
    res_late_n = models.BigIntegerField(default=0)
    csat_n = models.BigIntegerField(default=0)
    csat_sum = models.BigIntegerField(default=0)
    csat_good = models.BigIntegerField(default=0)
    csat_esc_n = models.BigIntegerField(default=0)
    csat_esc_sum = models.BigIntegerField(default=0)
    csat_esc_good = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=list(ROLLUP_KEYS), name="ticket_rollup_key")]

    def __str__(self) -> str:
        return f"{self.day} tickets"


class EscalationRollup(models.Model):
    """Escalations of the tickets created on a day (or in a month), by dimension, reason and root cause."""

    grain = models.CharField(max_length=1, default="d")
    day = models.DateField()
    team_id = models.BigIntegerField(default=0)
    category_id = models.BigIntegerField(default=0)
    channel = models.CharField(max_length=10)
    priority = models.CharField(max_length=10)
    severity = models.CharField(max_length=10)
    org_tier = models.CharField(max_length=20, blank=True)
    policy_id = models.BigIntegerField(default=0)
    reason_id = models.BigIntegerField(default=0)
    root_cause_id = models.BigIntegerField(default=0)
    escalations = models.BigIntegerField(default=0)
    re_escalated = models.BigIntegerField(default=0)
    resolved = models.BigIntegerField(default=0)
    resolve_s = models.BigIntegerField(default=0)
    de_escalated = models.BigIntegerField(default=0)
    approvals = models.BigIntegerField(default=0)
    approval_s = models.BigIntegerField(default=0)
    t1_s = models.BigIntegerField(default=0)
    t1_n = models.BigIntegerField(default=0)
    t2_s = models.BigIntegerField(default=0)
    t2_n = models.BigIntegerField(default=0)
    t3_s = models.BigIntegerField(default=0)
    t3_n = models.BigIntegerField(default=0)
    t4_s = models.BigIntegerField(default=0)
    t4_n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=[*ROLLUP_KEYS, *ESCALATION_KEYS], name="escalation_rollup_key")]

    def __str__(self) -> str:
        return f"{self.day} escalations"
