"""The escalation record's rules, as data: its status workflow, the escalation path a matrix
cell gives, who may move a ticket how far up it, and the risk score.

Pure: no Django, no clock. The `escalations` services and the `desk` verbs apply what these
functions decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class EscalationStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    AWAITING_APPROVAL = "awaiting_approval"
    RESOLVED = "resolved"
    DE_ESCALATED = "de_escalated"
    REOPENED = "reopened"


S = EscalationStatus
ACTIVE = frozenset({S.OPEN, S.ACKNOWLEDGED, S.IN_PROGRESS, S.AWAITING_APPROVAL, S.REOPENED})
ENDED = frozenset({S.RESOLVED, S.DE_ESCALATED})

# Which status may follow which. Resolving and the approval step have their own verbs (they
# need the root cause and the sign-off); the rest are plain moves a person makes on the record.
TRANSITIONS: Mapping[EscalationStatus, frozenset[EscalationStatus]] = {
    S.OPEN: frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS, S.AWAITING_APPROVAL, S.RESOLVED, S.DE_ESCALATED}),
    S.REOPENED: frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS, S.AWAITING_APPROVAL, S.RESOLVED, S.DE_ESCALATED}),
    S.ACKNOWLEDGED: frozenset({S.IN_PROGRESS, S.AWAITING_APPROVAL, S.RESOLVED, S.DE_ESCALATED}),
    S.IN_PROGRESS: frozenset({S.AWAITING_APPROVAL, S.RESOLVED, S.DE_ESCALATED}),
    # Approved: resolved; rejected: back to work.
    S.AWAITING_APPROVAL: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.RESOLVED: frozenset({S.REOPENED}),
    S.DE_ESCALATED: frozenset(),
}


def transition_problem(current: EscalationStatus, target: EscalationStatus) -> str | None:
    """None when `current` → `target` is allowed, else a sentence saying why not."""
    if target in TRANSITIONS[current]:
        return None
    if current == target:
        return f"The escalation is {current.value.replace('_', ' ')} already."
    allowed = sorted(s.value for s in TRANSITIONS[current])
    if not allowed:
        return f"A {current.value.replace('_', ' ')} escalation is closed for good; escalate the ticket again instead."
    return f"A {current.value.replace('_', ' ')} escalation can move to {', '.join(allowed)}, not {target.value}."


class LevelRole(StrEnum):
    TEAM_LEAD = "team_lead"
    ESCALATION_MANAGER = "escalation_manager"


@dataclass(frozen=True)
class PathLevel:
    """One rung of an escalation path: a team's tier, a role (of the ticket's team), or a person,
    with the time the people there have to respond (minutes; None: no target)."""

    team_id: int | None = None  # None: the ticket's team at the time
    tier: int | None = None
    role: LevelRole | None = None
    user_id: int | None = None
    response_minutes: int | None = None

    def words(self, team_names: Mapping[int, str] | None = None) -> str:
        names = team_names or {}
        if self.user_id is not None:
            return f"user {self.user_id}"
        if self.role is not None:
            return self.role.value.replace("_", " ")
        team = names.get(self.team_id, f"team {self.team_id}") if self.team_id is not None else "the team"
        return f"{team} L{self.tier or 1}"


def team_path(tier_count: int, *, response_minutes: int | None = None) -> tuple[PathLevel, ...]:
    """The path when no matrix cell speaks: the ticket's team L1…Ln, then its escalation manager."""
    tiers = tuple(PathLevel(tier=tier, response_minutes=response_minutes) for tier in range(1, tier_count + 1))
    return (*tiers, PathLevel(role=LevelRole.ESCALATION_MANAGER, response_minutes=response_minutes))


@dataclass(frozen=True)
class MatrixCell:
    category: str | None  # a decision category's slug; None: any category (the default row)
    severity: str | None  # None: any severity
    path: tuple[PathLevel, ...]


@dataclass(frozen=True)
class MatrixChoice:
    path: tuple[PathLevel, ...]
    cell: MatrixCell | None  # None: the team's own tiers (no default cell configured)
    reason: str


def matrix_path(cells: Iterable[MatrixCell], *, category: str | None, severity: str, tier_count: int) -> MatrixChoice:
    """The path for a (category, severity): the exact cell, else the category's any-severity
    cell, else the explicit default (no category, no severity), else the team's tiers."""
    by_key = {(cell.category, cell.severity): cell for cell in cells}
    order: list[tuple[tuple[str | None, str | None], str]] = []
    if category is not None:
        order += [((category, severity), f"matrix cell {category} × {severity}"), ((category, None), f"matrix row {category}")]
    order += [((None, severity), f"matrix default for {severity}"), ((None, None), "the matrix's default path")]
    for key, why in order:
        cell = by_key.get(key)
        if cell is not None and cell.path:
            return MatrixChoice(path=cell.path, cell=cell, reason=why)
    return MatrixChoice(path=team_path(tier_count), cell=None, reason="the team's tiers (no matrix cell applies)")


def matrix_gaps(cells: Iterable[MatrixCell], *, categories: Sequence[str], severities: Sequence[str]) -> list[tuple[str, str]]:
    """The (category, severity) pairs no cell of their own covers: they fall back to a row or the
    default. The editor shows them so an admin sees where the fallback decides."""
    keys = {(cell.category, cell.severity) for cell in cells if cell.path}
    return [
        (category, severity)
        for category in categories
        for severity in severities
        if (category, severity) not in keys and (category, None) not in keys
    ]


class EscalateRefusal(StrEnum):
    TOP = "top"  # past the path's last level: a 409
    TOO_FAR = "too_far"  # an agent skipping levels: a 403
    NOT_UP = "not_up"  # a target at or below where the ticket is: a 422


@dataclass(frozen=True)
class EscalateDecision:
    level: int | None  # 1-based level in the path, when allowed
    refusal: EscalateRefusal | None
    sentence: str


def escalate_decision(
    *, path_length: int, current: int, requested: int | None, may_skip_levels: bool, at_words: str = ""
) -> EscalateDecision:
    """Where "escalate up" takes a ticket at level `current` (1-based): one level up, or to
    `requested` for a lead or manager (`may_skip_levels`). Agents move one level at a time."""
    target = current + 1 if requested is None else requested
    if current >= path_length:
        where = f" ({at_words})" if at_words else ""
        return EscalateDecision(
            None,
            EscalateRefusal.TOP,
            f"The ticket is at L{current}{where}, the top of its escalation path; there is no higher level to escalate to.",
        )
    if target <= current:
        return EscalateDecision(None, EscalateRefusal.NOT_UP, f"Level {target} is not above the current level L{current}.")
    if target > path_length:
        return EscalateDecision(
            None, EscalateRefusal.TOP, f"The escalation path has {path_length} levels; L{target} does not exist."
        )
    if target > current + 1 and not may_skip_levels:
        return EscalateDecision(
            None,
            EscalateRefusal.TOO_FAR,
            f"Agents escalate one level at a time (to L{current + 1}); team leads and escalation managers may skip levels.",
        )
    return EscalateDecision(target, None, f"L{current} → L{target}")


RISK_MIN, RISK_MAX = 1, 5


def risk_score(likelihood: int | None, impact: int | None) -> int | None:
    """Likelihood × impact, each 1–5; None until both are known."""
    if likelihood is None or impact is None:
        return None
    if not (RISK_MIN <= likelihood <= RISK_MAX and RISK_MIN <= impact <= RISK_MAX):
        raise ValueError("likelihood and impact are whole numbers from 1 to 5")
    return likelihood * impact


def risk_crosses(*, before: int | None, after: int | None, appetite: int) -> bool:
    """True when the score goes above the appetite now (and was not above it before): the
    executives hear of it once per crossing, not on every edit."""
    return after is not None and after > appetite and (before is None or before <= appetite)


ROOT_CAUSE_FIELDS = (
    "category",
    "description",
    "corrective_action",
    "preventive_action",
    "owning_team",
    "customer_summary",
)


def root_cause_missing(values: Mapping[str, object]) -> list[str]:
    """The root-cause fields still empty; resolving needs all of them."""
    missing = []
    for name in ROOT_CAUSE_FIELDS:
        value = values.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(name)
    return missing
