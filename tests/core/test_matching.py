"""Policy matching: ranked, typed conditions, the reason in words."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from escalada.core.matching import (
    HANDLERS,
    Condition,
    Match,
    Operator,
    PolicyRule,
    TicketFacts,
    condition_problem,
    match_policy,
)

ANA = TicketFacts(
    priority="urgent",
    severity="sev2",
    channel="email",
    category="billing",
    organization_id=7,
    organization_tier="enterprise",
    is_vip=True,
    tags=frozenset({"invoice", "refund"}),
    team_id=3,
)

ENTERPRISE_URGENT = PolicyRule(
    policy_id=1,
    name="Enterprise urgent",
    rank=10,
    conditions=(
        Condition("organization_tier", Operator.IS, "enterprise"),
        Condition("priority", Operator.IN, ["urgent", "high"]),
    ),
)
VIP = PolicyRule(policy_id=2, name="VIP", rank=20, conditions=(Condition("vip", Operator.IS, True),))
DEFAULT = PolicyRule(policy_id=3, name="Standard", rank=1000)


def test_the_first_matching_policy_by_rank_wins_with_its_reason() -> None:
    match = match_policy([DEFAULT, VIP, ENTERPRISE_URGENT], ANA)
    assert match == Match(
        policy_id=1, name="Enterprise urgent", reason="matched: organization_tier=enterprise, priority=urgent|high"
    )
    assert match.summary == "Enterprise urgent — matched: organization_tier=enterprise, priority=urgent|high"


def test_falls_through_to_later_policies_and_the_default() -> None:
    low = TicketFacts(priority="low", severity="sev4", channel="web", organization_tier="enterprise", is_vip=True)
    assert match_policy([DEFAULT, VIP, ENTERPRISE_URGENT], low) == Match(2, "VIP", "matched: vip=true")
    nobody = TicketFacts(priority="low", severity="sev4", channel="web")
    assert match_policy([DEFAULT, VIP, ENTERPRISE_URGENT], nobody) == Match(
        3, "Standard", "matched: no conditions (the default policy)"
    )
    assert match_policy([VIP, ENTERPRISE_URGENT], nobody) is None


def test_equal_ranks_are_broken_by_id() -> None:
    a = PolicyRule(policy_id=9, name="A", rank=5)
    b = PolicyRule(policy_id=4, name="B", rank=5)
    assert match_policy([a, b], ANA) == Match(4, "B", "matched: no conditions (the default policy)")


def test_every_operator() -> None:
    cases = [
        (Condition("channel", Operator.NOT_IN, ["phone", "chat"]), True),
        (Condition("channel", Operator.NOT_IN, ["email"]), False),
        (Condition("tags", Operator.HAS_ANY, ["refund", "outage"]), True),
        (Condition("tags", Operator.HAS_ALL, ["refund", "outage"]), False),
        (Condition("tags", Operator.HAS_ALL, ["refund", "invoice"]), True),
        (Condition("organization", Operator.IN, [7, 8]), True),
        (Condition("team", Operator.IS, 4), False),
        (Condition("category", Operator.IS, "billing"), True),
        (Condition("severity", Operator.IN, ["sev1"]), False),
    ]
    for condition, expected in cases:
        rule = PolicyRule(policy_id=1, name="P", rank=1, conditions=(condition,))
        assert (match_policy([rule], ANA) is not None) == expected, condition


def test_invalid_conditions_say_why() -> None:
    assert condition_problem(Condition("priority", Operator.IN, ["urgent"])) is None
    assert condition_problem(Condition("vip", Operator.IS, True)) is None
    problems = [
        (
            Condition("mood", Operator.IS, "angry"),
            "Unknown field 'mood'; use one of category, channel, organization, organization_tier, priority, severity, tags, team, vip.",
        ),
        (Condition("priority", Operator.HAS_ANY, ["urgent"]), "priority takes the operator(s) in, is, not_in, not has_any."),
        (Condition("priority", Operator.IN, ["asap"]), "priority is one of urgent, high, normal, low, not 'asap'."),
        (Condition("priority", Operator.IS, ["urgent", "high"]), "priority 'is' takes one value; use 'in' for several."),
        (Condition("team", Operator.IN, [0]), "team takes ids (whole numbers from 1), not 0."),
        (Condition("team", Operator.IN, ["3"]), "team takes ids (whole numbers from 1), not '3'."),
        (Condition("tags", Operator.HAS_ANY, []), "tags needs at least one value."),
        (Condition("vip", Operator.IS, "yes"), "vip is true or false."),
    ]
    for condition, message in problems:
        assert condition_problem(condition) == message


@given(
    st.sampled_from(["urgent", "high", "normal", "low"]),
    st.lists(st.integers(0, 100), min_size=1, max_size=6, unique=True),
)
def test_the_winner_is_the_lowest_ranked_policy_that_holds(priority: str, ranks: list[int]) -> None:
    facts = TicketFacts(priority=priority, severity="sev3", channel="web")
    policies = [
        PolicyRule(
            policy_id=i + 1,
            name=f"P{i}",
            rank=rank,
            conditions=(Condition("priority", Operator.IS, ["urgent", "high", "normal", "low"][i % 4]),),
        )
        for i, rank in enumerate(ranks)
    ]
    holding = [p for p in policies if p.conditions[0].value == priority]
    match = match_policy(policies, facts)
    if not holding:
        assert match is None
    else:
        best = min(holding, key=lambda p: (p.rank, p.policy_id))
        assert match is not None
        assert match.policy_id == best.policy_id


def test_every_handler_declares_a_schema() -> None:
    assert all(handler.value_schema for handler in HANDLERS.values())
