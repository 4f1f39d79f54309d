"""What each ticket contributes to the reports, computed from the raw rows in a few queries per
batch (never one query per ticket). The formulas are written out in docs/metrics.md; a test
recomputes every report from the raw tables by other code and compares.

Facts never depend on the clock: a running SLA clock that has not breached is neither met nor
breached yet, an escalation's current stay in a tier is counted once it ends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count

from escalada.escalations.models import Approval, ApprovalState, Escalation, EscalationStatus, Hop
from escalada.insights.models import DIMENSIONS, METRIC_PREFIXES, TIER_BUCKETS
from escalada.sla.models import Clock
from escalada.tickets.models import Message, SatisfactionRating, Status, Ticket, Visibility

Key = tuple[Any, ...]
Measures = dict[str, int]

SOLVED = (Status.SOLVED, Status.CLOSED)
OPEN = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
GOOD_SCORE = 4  # a rating of 4 or 5 counts as satisfied
DE_ESCALATION_HOP = "de_escalation"


def report_zone() -> ZoneInfo:
    return ZoneInfo(settings.ESCALADA_REPORT_TIME_ZONE)


def report_day(at: datetime) -> date:
    """The day a ticket belongs to: its creation instant's date in the report time zone."""
    return at.astimezone(report_zone()).date()


def tier_bucket(tier: int) -> str:
    return TIER_BUCKETS[min(max(tier, 1), len(TIER_BUCKETS)) - 1]


@dataclass
class Facts:
    """One ticket's dimensions and measures; `escalations` is keyed by (reason, root cause)."""

    dims: Key
    organization_id: int
    ticket: Measures
    escalations: dict[tuple[int, int], Measures] = field(default_factory=dict)
    open_key: tuple[str, int, int] | None = None  # (status, team, assignee) while the ticket is open

    def contribution(self) -> dict[str, Any]:
        """The JSON kept on the fact row: exactly what this ticket added to the rollups."""
        return {
            "dims": [self.dims[0].isoformat(), *self.dims[1:]],
            "t": _nonzero(self.ticket),
            "e": [[reason, cause, _nonzero(m)] for (reason, cause), m in sorted(self.escalations.items())],
            "o": list(self.open_key) if self.open_key else None,
        }


def rows_of(contribution: dict[str, Any]) -> list[tuple[str, Key, Measures]]:
    """A stored contribution as rollup rows: ("ticket" | "escalation", key, measures), once for
    the day and once for the month."""
    if not contribution:
        return []
    raw = contribution["dims"]
    day = date.fromisoformat(raw[0])
    rows: list[tuple[str, Key, Measures]] = []
    for grain, start in (("d", day), ("m", day.replace(day=1))):
        dims: Key = (grain, start, *raw[1:])
        rows.append(("ticket", dims, dict(contribution["t"])))
        rows += [("escalation", (*dims, reason, cause), dict(m)) for reason, cause, m in contribution["e"]]
    if contribution.get("o"):
        rows.append(("open", tuple(contribution["o"]), {"tickets": 1}))
    return rows


def _nonzero(measures: Measures) -> Measures:
    return {name: value for name, value in sorted(measures.items()) if value}


def _seconds(a: datetime, b: datetime) -> int:
    return max(0, round((b - a).total_seconds()))


def facts_for(ticket_ids: Iterable[int]) -> dict[int, Facts]:
    """The facts of these tickets (those that still exist), in seven queries."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return {}
    tickets = list(
        Ticket.objects.filter(pk__in=ids).values(
            "pk",
            "created_at",
            "team_id",
            "category_id",
            "channel",
            "priority",
            "severity",
            "organization_id",
            "organization__tier",
            "status",
            "assignee_id",
            "solved_at",
            "reopen_count",
            "sla_binding__policy_id",
        )
    )
    replies = dict(
        Message.objects.filter(ticket_id__in=ids, visibility=Visibility.PUBLIC, author_contact__isnull=True)
        .values("ticket_id")
        .annotate(n=Count("pk"))
        .values_list("ticket_id", "n")
    )
    clocks: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for clock in Clock.objects.filter(ticket_id__in=ids).values("ticket_id", "metric", "state", "breached_at", "fulfilled_at"):
        clocks[clock["ticket_id"]].append(dict(clock))
    ratings: dict[int, list[int]] = defaultdict(list)
    for ticket_id, score in SatisfactionRating.objects.filter(ticket_id__in=ids).values_list("ticket_id", "score"):
        ratings[ticket_id].append(score)
    escalations: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_id: dict[int, dict[str, Any]] = {}
    for found in Escalation.objects.filter(ticket_id__in=ids).values(
        "pk",
        "ticket_id",
        "reason_id",
        "root_cause__category_id",
        "status",
        "opened_at",
        "resolved_at",
        "de_escalated_at",
        "re_escalation_count",
    ):
        row: dict[str, Any] = {**found, "hops": [], "approvals": []}
        escalations[row["ticket_id"]].append(row)
        by_id[row["pk"]] = row
    if by_id:
        for hop in (
            Hop.objects.filter(escalation_id__in=by_id).order_by("at", "pk").values("escalation_id", "type", "to_tier", "at")
        ):
            by_id[hop["escalation_id"]]["hops"].append(hop)
        decided = Approval.objects.filter(escalation_id__in=by_id, decided_at__isnull=False).exclude(state=ApprovalState.PENDING)
        for approval in decided.values("escalation_id", "requested_at", "decided_at"):
            by_id[approval["escalation_id"]]["approvals"].append(approval)
    return {
        ticket["pk"]: _ticket_facts(
            dict(ticket), replies.get(ticket["pk"], 0), clocks[ticket["pk"]], ratings[ticket["pk"]], escalations[ticket["pk"]]
        )
        for ticket in tickets
    }


def _ticket_facts(
    row: dict[str, Any], replies: int, clocks: list[dict[str, Any]], ratings: list[int], escalations: list[dict[str, Any]]
) -> Facts:
    dims: Key = (
        report_day(row["created_at"]),
        row["team_id"] or 0,
        row["category_id"] or 0,
        row["channel"],
        row["priority"],
        row["severity"],
        row["organization__tier"] or "",
        row["sla_binding__policy_id"] or 0,
    )
    assert len(dims) == len(DIMENSIONS)
    solved = row["status"] in SOLVED
    escalated = bool(escalations)
    m: Measures = defaultdict(int)
    m["tickets"] = 1
    m["solved"] = int(solved)
    m["fcr"] = int(solved and replies <= 1 and row["reopen_count"] == 0 and not escalated)
    m["ever_solved"] = int(solved or row["solved_at"] is not None or row["reopen_count"] > 0)
    m["reopened"] = int(row["reopen_count"] > 0)
    m["reopens"] = row["reopen_count"]
    m["escalated"] = int(escalated)
    m["escalations"] = len(escalations)
    if escalated:
        m["tte_s"] = _seconds(row["created_at"], min(e["opened_at"] for e in escalations))
        m["tte_n"] = 1
    for clock in clocks:
        prefix = METRIC_PREFIXES[clock["metric"]]
        if clock["breached_at"] is not None:
            m[f"{prefix}_breached"] += 1
            if clock["fulfilled_at"] is not None:
                m[f"{prefix}_late_s"] += _seconds(clock["breached_at"], clock["fulfilled_at"])
                m[f"{prefix}_late_n"] += 1
        elif clock["fulfilled_at"] is not None:
            m[f"{prefix}_met"] += 1
    for score in ratings:
        for prefix in ("csat", "csat_esc") if escalated else ("csat",):
            m[f"{prefix}_n"] += 1
            m[f"{prefix}_sum"] += score
            m[f"{prefix}_good"] += int(score >= GOOD_SCORE)
    per_key: dict[tuple[int, int], Measures] = {}
    for escalation in escalations:
        key = (escalation["reason_id"], escalation["root_cause__category_id"] or 0)
        measures = per_key.setdefault(key, defaultdict(int))
        for name, value in _escalation_measures(escalation).items():
            measures[name] += value
    open_key = (row["status"], row["team_id"] or 0, row["assignee_id"] or 0) if row["status"] in OPEN else None
    return Facts(dims=dims, organization_id=row["organization_id"] or 0, ticket=dict(m), escalations=per_key, open_key=open_key)


def _escalation_measures(escalation: dict[str, Any]) -> Measures:
    m: Measures = defaultdict(int)
    m["escalations"] = 1
    m["re_escalated"] = int(escalation["re_escalation_count"] > 0)
    ended_at: datetime | None = None
    if escalation["status"] == EscalationStatus.RESOLVED and escalation["resolved_at"] is not None:
        m["resolved"] = 1
        m["resolve_s"] = _seconds(escalation["opened_at"], escalation["resolved_at"])
        ended_at = escalation["resolved_at"]
    elif escalation["status"] == EscalationStatus.DE_ESCALATED and escalation["de_escalated_at"] is not None:
        m["de_escalated"] = 1
        ended_at = escalation["de_escalated_at"]
    for approval in escalation["approvals"]:
        m["approvals"] += 1
        m["approval_s"] += _seconds(approval["requested_at"], approval["decided_at"])
    # Each hop up or across puts the ticket at a tier until the next hop (a de-escalation hop
    # only ends the stay), or until the escalation ended.
    hops = escalation["hops"]
    for hop, following in zip(hops, [*hops[1:], None], strict=True):
        until = following["at"] if following is not None else ended_at
        if until is None or hop["to_tier"] is None or hop["type"] == DE_ESCALATION_HOP:
            continue
        bucket = tier_bucket(hop["to_tier"])
        m[f"{bucket}_s"] += _seconds(hop["at"], until)
        m[f"{bucket}_n"] += 1
    return dict(m)
