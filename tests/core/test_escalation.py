from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalada.core.escalation import (
    ACTIVE,
    ENDED,
    TRANSITIONS,
    EscalateRefusal,
    EscalationStatus,
    LevelRole,
    MatrixCell,
    PathLevel,
    escalate_decision,
    matrix_gaps,
    matrix_path,
    risk_crosses,
    risk_score,
    root_cause_missing,
    team_path,
    transition_problem,
)

ENGINEERING = (PathLevel(team_id=7, tier=1, response_minutes=60), PathLevel(role=LevelRole.ESCALATION_MANAGER))
BILLING_SEV1 = (PathLevel(tier=2, response_minutes=15), PathLevel(user_id=3))
DEFAULT = (PathLevel(tier=1), PathLevel(tier=2), PathLevel(role=LevelRole.TEAM_LEAD))
CELLS = [
    MatrixCell(category="billing", severity="sev1", path=BILLING_SEV1),
    MatrixCell(category="technical", severity=None, path=ENGINEERING),
    MatrixCell(category=None, severity=None, path=DEFAULT),
]


def test_every_status_has_its_transitions_and_ended_ones_only_reopen() -> None:
    assert set(TRANSITIONS) == set(EscalationStatus)
    assert TRANSITIONS[EscalationStatus.RESOLVED] == {EscalationStatus.REOPENED}
    assert TRANSITIONS[EscalationStatus.DE_ESCALATED] == frozenset()
    assert set(EscalationStatus) == ACTIVE | ENDED
    assert not ACTIVE & ENDED


def test_transition_problems_are_sentences() -> None:
    assert transition_problem(EscalationStatus.OPEN, EscalationStatus.ACKNOWLEDGED) is None
    assert transition_problem(EscalationStatus.AWAITING_APPROVAL, EscalationStatus.IN_PROGRESS) is None
    assert transition_problem(EscalationStatus.ACKNOWLEDGED, EscalationStatus.ACKNOWLEDGED) == (
        "The escalation is acknowledged already."
    )
    assert transition_problem(EscalationStatus.IN_PROGRESS, EscalationStatus.OPEN) == (
        "A in progress escalation can move to awaiting_approval, de_escalated, resolved, not open."
    )
    assert transition_problem(EscalationStatus.DE_ESCALATED, EscalationStatus.REOPENED) == (
        "A de escalated escalation is closed for good; escalate the ticket again instead."
    )


def test_matrix_exact_cell_then_row_then_default_then_team_tiers() -> None:
    exact = matrix_path(CELLS, category="billing", severity="sev1", tier_count=3)
    assert (exact.path, exact.reason) == (BILLING_SEV1, "matrix cell billing × sev1")
    row = matrix_path(CELLS, category="technical", severity="sev4", tier_count=3)
    assert (row.path, row.reason) == (ENGINEERING, "matrix row technical")
    fallback = matrix_path(CELLS, category="billing", severity="sev2", tier_count=3)
    assert (fallback.path, fallback.reason) == (DEFAULT, "the matrix's default path")
    none = matrix_path(CELLS[:2], category="security", severity="sev2", tier_count=2)
    assert none.cell is None
    assert none.path == (PathLevel(tier=1), PathLevel(tier=2), PathLevel(role=LevelRole.ESCALATION_MANAGER))
    assert none.reason == "the team's tiers (no matrix cell applies)"


def test_a_severity_default_wins_over_the_matrix_default() -> None:
    sev1 = (PathLevel(role=LevelRole.ESCALATION_MANAGER),)
    cells = [*CELLS, MatrixCell(category=None, severity="sev1", path=sev1)]
    choice = matrix_path(cells, category="security", severity="sev1", tier_count=3)
    assert (choice.path, choice.reason) == (sev1, "matrix default for sev1")


def test_gaps_are_the_pairs_without_a_cell_or_row() -> None:
    gaps = matrix_gaps(CELLS, categories=["billing", "technical", "security"], severities=["sev1", "sev2"])
    assert gaps == [("billing", "sev2"), ("security", "sev1"), ("security", "sev2")]


@given(
    category=st.sampled_from([None, "billing", "technical", "security"]),
    severity=st.sampled_from(["sev1", "sev2", "sev3", "sev4"]),
    tiers=st.integers(min_value=1, max_value=9),
    cells=st.lists(st.sampled_from(CELLS), max_size=3),
)
def test_every_pair_resolves_to_a_non_empty_path(
    category: str | None, severity: str, tiers: int, cells: list[MatrixCell]
) -> None:
    choice = matrix_path(cells, category=category, severity=severity, tier_count=tiers)
    assert len(choice.path) >= 1
    if choice.cell is None:
        assert len(choice.path) == tiers + 1


def test_team_path_ends_with_the_escalation_manager() -> None:
    assert team_path(2, response_minutes=30) == (
        PathLevel(tier=1, response_minutes=30),
        PathLevel(tier=2, response_minutes=30),
        PathLevel(role=LevelRole.ESCALATION_MANAGER, response_minutes=30),
    )


def test_escalate_one_level_for_agents_any_for_managers() -> None:
    assert escalate_decision(path_length=4, current=1, requested=None, may_skip_levels=False).level == 2
    refused = escalate_decision(path_length=4, current=1, requested=3, may_skip_levels=False)
    assert (refused.level, refused.refusal) == (None, EscalateRefusal.TOO_FAR)
    assert refused.sentence == (
        "Agents escalate one level at a time (to L2); team leads and escalation managers may skip levels."
    )
    assert escalate_decision(path_length=4, current=1, requested=4, may_skip_levels=True).level == 4


def test_escalate_past_the_top_or_not_up() -> None:
    top = escalate_decision(path_length=4, current=4, requested=None, may_skip_levels=True, at_words="escalation manager")
    assert (top.refusal, top.sentence) == (
        EscalateRefusal.TOP,
        "The ticket is at L4 (escalation manager), the top of its escalation path; there is no higher level to escalate to.",
    )
    beyond = escalate_decision(path_length=4, current=2, requested=5, may_skip_levels=True)
    assert (beyond.refusal, beyond.sentence) == (EscalateRefusal.TOP, "The escalation path has 4 levels; L5 does not exist.")
    down = escalate_decision(path_length=4, current=3, requested=2, may_skip_levels=True)
    assert (down.refusal, down.sentence) == (EscalateRefusal.NOT_UP, "Level 2 is not above the current level L3.")


@given(
    length=st.integers(min_value=1, max_value=12),
    current=st.integers(min_value=1, max_value=12),
    requested=st.one_of(st.none(), st.integers(min_value=1, max_value=14)),
    may_skip=st.booleans(),
)
def test_an_allowed_escalation_always_goes_up_within_the_path(
    length: int, current: int, requested: int | None, may_skip: bool
) -> None:
    decision = escalate_decision(path_length=length, current=current, requested=requested, may_skip_levels=may_skip)
    if decision.level is not None:
        assert current < decision.level <= length
        assert decision.refusal is None
        if not may_skip:
            assert decision.level == current + 1
    else:
        assert decision.refusal is not None


def test_risk_score_and_the_appetite() -> None:
    assert risk_score(4, 5) == 20
    assert risk_score(None, 5) is None
    with pytest.raises(ValueError, match="1 to 5"):
        risk_score(6, 1)
    assert risk_crosses(before=None, after=16, appetite=12)
    assert risk_crosses(before=12, after=13, appetite=12)
    assert not risk_crosses(before=15, after=20, appetite=12)  # already above: told once
    assert not risk_crosses(before=None, after=12, appetite=12)


def test_root_cause_missing_names_empty_fields() -> None:
    assert root_cause_missing({"category": 1, "description": "  ", "owning_team": None}) == [
        "description",
        "corrective_action",
        "preventive_action",
        "owning_team",
        "customer_summary",
    ]
