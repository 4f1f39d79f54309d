"""Which ticket to pick up first: a priority score with its reasons.

Pure: the caller gathers the facts (`Urgency`) and gets back the score and the parts it is made
of, in words, so the queue can rank by it and say why on hover. Points, not a probability: the
weights below are the whole model, chosen so that an SLA about to breach weighs more than any
other single fact (a breached one more so), and priority, severity, the customer's tier and the
escalation level order what is equally urgent.
"""

from __future__ import annotations

from dataclasses import dataclass

SLA_MAX = 100.0  # at the due instant
SLA_HALF_LIFE_S = 3600.0  # an hour of business time left halves the SLA points
BREACHED_MAX_EXTRA = 50.0  # breached: 100 + up to 50 more as it gets later (10 an hour)
PRIORITY = {"urgent": 40.0, "high": 25.0, "normal": 10.0, "low": 0.0}
SEVERITY = {"sev1": 40.0, "sev2": 20.0, "sev3": 5.0, "sev4": 0.0}
TIER = {"enterprise": 20.0, "premium": 12.0, "standard": 5.0, "free": 0.0}
VIP = 15.0
PER_LEVEL = 10.0  # for each escalation level above L1
WAITING_PER_HOUR = 2.0
WAITING_MAX = 30.0
SENTIMENT_MAX = 20.0  # room for later: a negative mood (−1) adds up to this


@dataclass(frozen=True)
class Urgency:
    """The facts about one ticket. `sla_seconds_left` is the business time left on the nearest
    running SLA clock (negative once breached; None when no clock is running — paused or met).
    `waiting_seconds`: how long the customer has waited for us (None when it is their turn)."""

    priority: str
    severity: str
    tier: str | None = None
    is_vip: bool = False
    escalation_level: int | None = None
    sla_seconds_left: float | None = None
    sla_metric: str = ""
    waiting_seconds: float | None = None
    sentiment: float | None = None  # −1 … 1


@dataclass(frozen=True)
class Score:
    total: float
    parts: tuple[tuple[str, float], ...]

    @property
    def explanation(self) -> str:
        return "; ".join(f"{label} +{points:g}" for label, points in self.parts if points) or "nothing urgent"


def _duration(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    if minutes < 120:
        return f"{minutes} business min"
    return f"{minutes // 60} business h"


def sla_points(seconds_left: float | None) -> float:
    """100 at the due instant, halving with each hour of business time left; breached: 100
    plus 10 an hour late, at most 150. Continuous and never increasing with more time left."""
    if seconds_left is None:
        return 0.0
    if seconds_left <= 0:
        return SLA_MAX + min(BREACHED_MAX_EXTRA, -seconds_left / 360.0)
    return float(SLA_MAX * 0.5 ** (seconds_left / SLA_HALF_LIFE_S))


def score(urgency: Urgency) -> Score:
    parts: list[tuple[str, float]] = []
    if urgency.sla_seconds_left is not None:
        metric = urgency.sla_metric.replace("_", " ") or "SLA"
        left = urgency.sla_seconds_left
        words = f"{metric} breached {_duration(left)} ago" if left <= 0 else f"{metric} due in {_duration(left)}"
        parts.append((words, round(sla_points(left), 1)))
    parts.append((f"priority {urgency.priority}", PRIORITY.get(urgency.priority, 0.0)))
    parts.append((f"severity {urgency.severity}", SEVERITY.get(urgency.severity, 0.0)))
    if urgency.tier:
        parts.append((f"{urgency.tier} customer", TIER.get(urgency.tier, 0.0)))
    if urgency.is_vip:
        parts.append(("VIP", VIP))
    if urgency.escalation_level and urgency.escalation_level > 1:
        parts.append((f"escalated to L{urgency.escalation_level}", PER_LEVEL * (urgency.escalation_level - 1)))
    if urgency.waiting_seconds is not None and urgency.waiting_seconds > 0:
        hours = urgency.waiting_seconds / 3600
        parts.append((f"waiting {hours:.1f} h", round(min(WAITING_MAX, WAITING_PER_HOUR * hours), 1)))
    if urgency.sentiment is not None and urgency.sentiment < 0:
        parts.append(("unhappy customer", round(SENTIMENT_MAX * min(1.0, -urgency.sentiment), 1)))
    return Score(total=round(sum(points for _, points in parts), 1), parts=tuple(parts))
