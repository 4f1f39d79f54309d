"""The reports, read from the rollups (never from tickets): each returns a `Report` — columns,
rows, the chart's column — that the page, the CSV export and the API all show unchanged.
Formulas: docs/metrics.md."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, Count, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncMonth

from escalada.accounts.models import Team
from escalada.base.errors import NotFound, ValidationFailed
from escalada.core import metrics
from escalada.customers.models import Organization, Tier
from escalada.escalations.models import Escalation, Reason, RootCauseCategory
from escalada.insights.filters import ReportFilter
from escalada.insights.models import METRIC_PREFIXES, TIER_BUCKETS, EscalationRollup, TicketFact, TicketRollup
from escalada.sla.models import Metric, Policy
from escalada.tickets.models import Category, Channel, Priority, Severity


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "int"  # int | text | percent | seconds | number


@dataclass
class Report:
    name: str
    title: str
    description: str
    filter: ReportFilter
    group_by: str
    group_choices: tuple[str, ...]
    columns: list[Column]
    rows: list[dict[str, Any]]
    chart_value: str  # the column the chart draws
    chart_kind: str = "bar"  # bar | pareto
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "report": self.name,
            "title": self.title,
            "filters": self.filter.as_query(),
            "group_by": self.group_by,
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in self.columns],
            "rows": self.rows,
            "notes": self.notes,
            **self.extra,
        }

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c.label for c in self.columns])
        for row in self.rows:
            writer.writerow([_csv_cell(row.get(c.key)) for c in self.columns])
        return out.getvalue()


def _csv_cell(value: Any) -> Any:
    """A cell as a spreadsheet will not run it: labels come from names people type (an
    organization called "=HYPERLINK(…)"), so text starting like a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


GROUP_LABELS = {
    "team": "Team",
    "category": "Category",
    "channel": "Channel",
    "priority": "Priority",
    "severity": "Severity",
    "org_tier": "Customer tier",
    "policy": "SLA policy",
    "reason": "Reason",
    "customer": "Customer",
    "metric": "SLA metric",
}
_DIMENSION_FIELD = {
    "team": "team_id",
    "category": "category_id",
    "channel": "channel",
    "priority": "priority",
    "severity": "severity",
    "org_tier": "org_tier",
    "policy": "policy_id",
}


def _labels(group: str, keys: Iterable[Any]) -> dict[Any, str]:
    keys = list(keys)
    by_model: dict[str, Any] = {"team": Team, "category": Category, "policy": Policy, "reason": Reason, "customer": Organization}
    if group in by_model:
        names = dict(by_model[group].objects.filter(pk__in=[k for k in keys if k]).values_list("pk", "name"))
        return {k: names.get(k, f"#{k}") if k else "(none)" for k in keys}
    choices: dict[str, Any] = {"channel": Channel, "priority": Priority, "severity": Severity, "org_tier": Tier}
    labels = dict(choices[group].choices)
    return {k: labels.get(k, k) if k else "(none)" for k in keys}


def _check_group(group_by: str, allowed: tuple[str, ...]) -> None:
    if group_by not in allowed:
        raise ValidationFailed.one("group_by", f"Choose one of: {', '.join(allowed)}.")


def _sums(model: type[TicketRollup] | type[EscalationRollup], f: ReportFilter, group: str | None, names: Iterable[str]) -> Any:
    rows = model.objects.filter(f.rollup_filter())
    aggregates = {name: Sum(name) for name in names}
    if group is None:
        total = rows.aggregate(**aggregates)
        return {name: total[name] or 0 for name in aggregates}
    found = rows.values(group).annotate(**aggregates).order_by(group)
    return {row[group]: {name: row[name] or 0 for name in aggregates} for row in found}


def _grouped(f: ReportFilter, group_by: str, names: Iterable[str]) -> list[tuple[Any, str, dict[str, int]]]:
    """Rows of the ticket rollup grouped by a dimension: (key, label, sums), biggest first."""
    sums = _sums(TicketRollup, f, _DIMENSION_FIELD[group_by], names)
    labels = _labels(group_by, sums)
    rows = [(key, labels[key], values) for key, values in sums.items()]
    return sorted(rows, key=lambda row: (-row[2].get("tickets", 0), row[1]))


# --- escalation rate ---------------------------------------------------------------------------

# The partial index's condition written into the SQL: SQLite does not match `escalations > ?`.
ESCALATED_FACTS = RawSQL(f"{TicketFact._meta.db_table}.escalations > 0", [], output_field=BooleanField())  # noqa: S611 - no input
RATE_GROUPS = ("team", "channel", "category", "reason", "customer", "priority", "severity", "org_tier", "policy")
CUSTOMERS_SHOWN = 20


def escalation_rate(f: ReportFilter, group_by: str = "team") -> Report:
    _check_group(group_by, RATE_GROUPS)
    columns = [
        Column("label", GROUP_LABELS[group_by], "text"),
        Column("tickets", "Tickets"),
        Column("escalations", "Escalations"),
        Column("escalated", "Escalated tickets"),
        Column("per_100", "Escalations per 100 tickets", "number"),
        Column("escalated_pct", "Tickets escalated %", "percent"),
    ]
    notes: list[str] = []
    measures = ["tickets", "escalations", "escalated"]
    total_row: dict[str, int] = {}
    if group_by in ("reason", "customer"):
        total_row = _sums(TicketRollup, f, None, measures)
    if group_by == "reason":
        total = total_row["tickets"]
        by_reason = _sums(EscalationRollup, f, "reason_id", ["escalations"])
        labels = _labels("reason", by_reason)
        columns = [columns[0], Column("escalations", "Escalations"), Column("per_100", "Escalations per 100 tickets", "number")]
        columns.append(Column("share", "Share of escalations %", "percent"))
        all_escalations = sum(v["escalations"] for v in by_reason.values())
        rows = [
            {
                "label": labels[key],
                "escalations": v["escalations"],
                "per_100": metrics.ratio(v["escalations"], total),
                "share": metrics.ratio(v["escalations"], all_escalations),
            }
            for key, v in by_reason.items()
            if v["escalations"]
        ]
        rows.sort(key=lambda row: (-row["escalations"], row["label"]))
        notes.append(f"Per 100 of the {total:,} tickets in the range.")
    elif group_by == "customer":
        rows = _rate_by_customer(f)
        notes.append(f"The {CUSTOMERS_SHOWN} customers with the most escalations in the range.")
    else:
        grouped = _grouped(f, group_by, measures)
        # The groups split the tickets: their sums are the totals (no second pass over the rollup).
        total_row = {name: sum(v[name] for _key, _label, v in grouped) for name in measures}
        rows = [
            {
                "label": label,
                "tickets": v["tickets"],
                "escalations": v["escalations"],
                "escalated": v["escalated"],
                "per_100": metrics.ratio(v["escalations"], v["tickets"]),
                "escalated_pct": metrics.ratio(v["escalated"], v["tickets"]),
            }
            for _key, label, v in grouped
        ]
    return Report(
        name="escalation-rate",
        title="Escalation rate",
        description="Escalations per 100 tickets created in the range, and the share of tickets escalated at least once.",
        filter=f,
        group_by=group_by,
        group_choices=RATE_GROUPS,
        columns=columns,
        rows=rows,
        chart_value="per_100",
        notes=notes,
        extra={
            "totals": {
                **total_row,
                "per_100": metrics.ratio(total_row["escalations"], total_row["tickets"]),
                "escalated_pct": metrics.ratio(total_row["escalated"], total_row["tickets"]),
            }
        },
    )


def _rate_by_customer(f: ReportFilter) -> list[dict[str, Any]]:
    # Escalated tickets are few: find the top customers among them (a partial index), then count
    # only those customers' tickets.
    top = list(
        TicketFact.objects.filter(ESCALATED_FACTS, **f.lookups())
        .exclude(organization_id=0)
        .values("organization_id")
        .annotate(escalations=Sum("escalations"), escalated=Count("pk"))
        .order_by("-escalations", "organization_id")[:CUSTOMERS_SHOWN]
    )
    ids = [row["organization_id"] for row in top]
    tickets = dict(
        TicketFact.objects.filter(organization_id__in=ids, **f.lookups())
        .values("organization_id")
        .annotate(n=Count("pk"))
        .values_list("organization_id", "n")
    )
    labels = _labels("customer", ids)
    return [
        {
            "label": labels[row["organization_id"]],
            "tickets": tickets.get(row["organization_id"], 0),
            "escalations": row["escalations"],
            "escalated": row["escalated"],
            "per_100": metrics.ratio(row["escalations"], tickets.get(row["organization_id"], 0)),
            "escalated_pct": metrics.ratio(row["escalated"], tickets.get(row["organization_id"], 0)),
        }
        for row in top
    ]


# --- time to escalate, time per tier, time to resolve, approval turnaround ------------------------


def escalation_times(f: ReportFilter, group_by: str = "stage") -> Report:
    _check_group(group_by, ("stage",))
    ticket = _sums(TicketRollup, f, None, ["tte_s", "tte_n"])
    names = ["resolve_s", "resolved", "approval_s", "approvals", *(f"{b}_{m}" for b in TIER_BUCKETS for m in ("s", "n"))]
    esc = _sums(EscalationRollup, f, None, names)
    stages: list[tuple[str, int, int]] = [("Time to escalate (created → first escalation)", ticket["tte_s"], ticket["tte_n"])]
    for index, bucket in enumerate(TIER_BUCKETS, start=1):
        label = f"Time in tier {index}" + (" or above" if index == len(TIER_BUCKETS) else "")
        stages.append((label, esc[f"{bucket}_s"], esc[f"{bucket}_n"]))
    stages.append(("Time to resolve an escalation (opened → resolved)", esc["resolve_s"], esc["resolved"]))
    stages.append(("Approval turnaround (requested → decided)", esc["approval_s"], esc["approvals"]))
    rows = []
    for label, total, count in stages:
        mean = metrics.average(total, count)
        rows.append(
            {
                "label": label,
                "count": count,
                "average_s": mean,
                "average_h": None if mean is None else round(mean / 3600, 2),
                "average": metrics.duration_words(mean),
            }
        )
    return Report(
        name="escalation-times",
        title="Time to escalate, time per tier, time to resolve",
        description=(
            "Averages in calendar time over the tickets created in the range. A stay in a tier counts once it has "
            "ended (the next hop, the resolution or the de-escalation)."
        ),
        filter=f,
        group_by=group_by,
        group_choices=("stage",),
        columns=[
            Column("label", "Stage", "text"),
            Column("count", "Count"),
            Column("average", "Average", "text"),
            Column("average_h", "Average (hours)", "number"),
        ],
        rows=rows,
        chart_value="average_h",
    )


# --- SLA compliance --------------------------------------------------------------------------------

SLA_GROUPS = ("metric", "policy", "team", "priority")
_SLA_NAMES = [f"{p}_{m}" for p in METRIC_PREFIXES.values() for m in ("met", "breached", "late_s", "late_n")]


def sla_compliance(f: ReportFilter, group_by: str = "metric") -> Report:
    _check_group(group_by, SLA_GROUPS)
    columns = [
        Column("label", GROUP_LABELS[group_by], "text"),
        Column("met", "Met"),
        Column("breached", "Breached"),
        Column("compliance", "Compliance %", "percent"),
        Column("average_lateness", "Average lateness", "text"),
        Column("average_lateness_s", "Average lateness (s)", "number"),
    ]
    if group_by == "metric":
        sums = _sums(TicketRollup, f, None, _SLA_NAMES)
        labelled = [
            (label, {k: sums[f"{METRIC_PREFIXES[metric]}_{k}"] for k in ("met", "breached", "late_s", "late_n")})
            for metric, label in Metric.choices
        ]
    else:
        labelled = []
        for _key, label, v in _grouped(f, group_by, ["tickets", *_SLA_NAMES]):
            total = {k: sum(v[f"{p}_{k}"] for p in METRIC_PREFIXES.values()) for k in ("met", "breached", "late_s", "late_n")}
            per_metric = {
                f"{p}_compliance": metrics.compliance(v[f"{p}_met"], v[f"{p}_breached"]) for p in METRIC_PREFIXES.values()
            }
            labelled.append((label, {**total, **per_metric}))
        columns[4:4] = [
            Column("fr_compliance", "First response %", "percent"),
            Column("nr_compliance", "Next response %", "percent"),
            Column("res_compliance", "Resolution %", "percent"),
        ]
    rows = []
    for label, v in labelled:
        lateness = metrics.average(v["late_s"], v["late_n"])
        rows.append(
            {
                "label": label,
                "met": v["met"],
                "breached": v["breached"],
                "compliance": metrics.compliance(v["met"], v["breached"]),
                **{k: v[k] for k in ("fr_compliance", "nr_compliance", "res_compliance") if k in v},
                "average_lateness": metrics.duration_words(lateness),
                "average_lateness_s": lateness,
            }
        )
    return Report(
        name="sla-compliance",
        title="SLA compliance",
        description=(
            "Met ÷ (met + breached) over the SLA clocks of the tickets created in the range; clocks still running "
            "within their target are not decided yet. Lateness: from the breach to the fulfilment, of clocks met late."
        ),
        filter=f,
        group_by=group_by,
        group_choices=SLA_GROUPS,
        columns=columns,
        rows=rows,
        chart_value="compliance",
    )


# --- first-contact resolution, reopen, re-escalation ----------------------------------------------

QUALITY_GROUPS = ("team", "channel", "category", "priority", "severity", "org_tier")


def resolution_quality(f: ReportFilter, group_by: str = "team") -> Report:
    _check_group(group_by, QUALITY_GROUPS)
    dimension = _DIMENSION_FIELD[group_by]
    re_escalated = _sums(EscalationRollup, f, dimension, ["escalations", "re_escalated"])
    rows = []
    for key, label, v in _grouped(f, group_by, ["tickets", "solved", "fcr", "ever_solved", "reopened"]):
        esc = re_escalated.get(key, {"escalations": 0, "re_escalated": 0})
        rows.append(
            {
                "label": label,
                "tickets": v["tickets"],
                "solved": v["solved"],
                "fcr_pct": metrics.ratio(v["fcr"], v["solved"]),
                "reopen_pct": metrics.ratio(v["reopened"], v["ever_solved"]),
                "re_escalation_pct": metrics.ratio(esc["re_escalated"], esc["escalations"]),
            }
        )
    return Report(
        name="resolution-quality",
        title="First-contact resolution, reopens, re-escalations",
        description=(
            "First-contact resolution: solved tickets answered with at most one public reply, never reopened, never "
            "escalated, of all solved tickets. Reopen rate: tickets reopened at least once, of tickets ever solved. "
            "Re-escalation rate: escalations reopened at least once, of all escalations."
        ),
        filter=f,
        group_by=group_by,
        group_choices=QUALITY_GROUPS,
        columns=[
            Column("label", GROUP_LABELS[group_by], "text"),
            Column("tickets", "Tickets"),
            Column("solved", "Solved"),
            Column("fcr_pct", "First-contact resolution %", "percent"),
            Column("reopen_pct", "Reopen rate %", "percent"),
            Column("re_escalation_pct", "Re-escalation rate %", "percent"),
        ],
        rows=rows,
        chart_value="fcr_pct",
    )


# --- recurring root causes -------------------------------------------------------------------------

TREND_CATEGORIES = 5


def root_causes(f: ReportFilter, group_by: str = "category") -> Report:
    _check_group(group_by, ("category",))
    counts = _sums(EscalationRollup, f, "root_cause_id", ["escalations"])
    names = dict(RootCauseCategory.objects.values_list("pk", "name"))
    bars = metrics.pareto([(names.get(key, f"#{key}"), key, v["escalations"]) for key, v in counts.items() if key])
    unexplained = counts.get(0, {"escalations": 0})["escalations"]
    rows = [
        {"label": bar.label, "key": bar.key, "escalations": bar.count, "share": bar.share, "cumulative": bar.cumulative}
        for bar in bars
    ]
    top = [bar.key for bar in bars[:TREND_CATEGORIES]]
    trend_rows = (
        EscalationRollup.objects.filter(f.rollup_filter(), root_cause_id__in=top)
        .annotate(month=TruncMonth("day"))
        .values("month", "root_cause_id")
        .annotate(n=Sum("escalations"))
        .order_by("month")
    )
    months: dict[str, dict[str, int]] = {}
    for row in trend_rows:
        month = row["month"].strftime("%Y-%m")
        months.setdefault(month, {names.get(key, f"#{key}"): 0 for key in top})[names.get(row["root_cause_id"], "")] = row["n"]
    notes = [f"{unexplained:,} escalation(s) in the range have no root cause yet (still open, or de-escalated)."]
    return Report(
        name="root-causes",
        title="Recurring root causes",
        description="Escalations of the tickets created in the range by root-cause category, most frequent first (Pareto).",
        filter=f,
        group_by=group_by,
        group_choices=("category",),
        columns=[
            Column("label", "Root cause", "text"),
            Column("escalations", "Escalations"),
            Column("share", "Share %", "percent"),
            Column("cumulative", "Cumulative %", "percent"),
        ],
        rows=rows,
        chart_value="escalations",
        chart_kind="pareto",
        notes=notes,
        extra={
            "trend": {"categories": [names.get(key, f"#{key}") for key in top], "months": months},
            "without_root_cause": unexplained,
        },
    )


def root_cause_escalations(f: ReportFilter, category_id: int, *, limit: int = 200) -> list[Escalation]:
    """The escalations behind one bar of the Pareto (same filter, straight from the records)."""
    if not RootCauseCategory.objects.filter(pk=category_id).exists():
        raise NotFound("No such root-cause category.")
    ticket_lookups = {f"ticket__{name}": value for name, value in f.ticket_lookups().items()}
    return list(
        Escalation.objects.filter(root_cause__category_id=category_id, **ticket_lookups)
        .select_related("ticket", "root_cause", "reason")
        .order_by("-opened_at", "-pk")[:limit]
    )


# --- satisfaction ----------------------------------------------------------------------------------


def satisfaction(f: ReportFilter, group_by: str = "escalated") -> Report:
    _check_group(group_by, ("escalated",))
    s = _sums(TicketRollup, f, None, ["csat_n", "csat_sum", "csat_good", "csat_esc_n", "csat_esc_sum", "csat_esc_good"])
    groups = [
        ("Escalated tickets", s["csat_esc_n"], s["csat_esc_sum"], s["csat_esc_good"]),
        ("Not escalated", s["csat_n"] - s["csat_esc_n"], s["csat_sum"] - s["csat_esc_sum"], s["csat_good"] - s["csat_esc_good"]),
        ("All tickets", s["csat_n"], s["csat_sum"], s["csat_good"]),
    ]
    rows = [
        {
            "label": label,
            "ratings": n,
            "average": None if n == 0 else round(total / n, 2),
            "satisfied_pct": metrics.ratio(good, n),
        }
        for label, n, total, good in groups
    ]
    return Report(
        name="satisfaction",
        title="Satisfaction (CSAT): escalated vs not escalated",
        description="Ratings (1–5) given on the tickets created in the range; satisfied means 4 or 5.",
        filter=f,
        group_by=group_by,
        group_choices=("escalated",),
        columns=[
            Column("label", "Tickets", "text"),
            Column("ratings", "Ratings"),
            Column("average", "Average score", "number"),
            Column("satisfied_pct", "Satisfied %", "percent"),
        ],
        rows=rows,
        chart_value="satisfied_pct",
    )


REPORTS: dict[str, Callable[..., Report]] = {
    "escalation-rate": escalation_rate,
    "escalation-times": escalation_times,
    "sla-compliance": sla_compliance,
    "resolution-quality": resolution_quality,
    "root-causes": root_causes,
    "satisfaction": satisfaction,
}


def report_run(name: str, f: ReportFilter, group_by: str | None) -> Report:
    if name not in REPORTS:
        raise NotFound(f"No report called {name!r}; there are: {', '.join(REPORTS)}.")
    return REPORTS[name](f, group_by) if group_by else REPORTS[name](f)
