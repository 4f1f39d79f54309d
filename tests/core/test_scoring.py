from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from escalada.core.scoring import PRIORITY, SEVERITY, Urgency, score, sla_points

seconds = st.floats(min_value=-30 * 86400, max_value=30 * 86400, allow_nan=False)
priorities = st.sampled_from(sorted(PRIORITY))
severities = st.sampled_from(sorted(SEVERITY))


def test_an_sla_about_to_breach_weighs_most() -> None:
    urgent_calm = score(Urgency(priority="urgent", severity="sev1", tier="enterprise", is_vip=True, escalation_level=3))
    breaching = score(Urgency(priority="low", severity="sev4", sla_seconds_left=60, sla_metric="first_response"))
    tomorrow = score(Urgency(priority="urgent", severity="sev4", sla_seconds_left=8 * 3600))
    assert urgent_calm.total == 40 + 40 + 20 + 15 + 20
    assert breaching.total == 98.9
    assert tomorrow.total == 40.4  # urgent, but eight business hours left
    assert score(Urgency(priority="low", severity="sev4", sla_seconds_left=-7200)).total == 120.0


def test_the_explanation_says_why_in_words() -> None:
    result = score(
        Urgency(
            priority="high",
            severity="sev2",
            tier="enterprise",
            is_vip=True,
            escalation_level=2,
            sla_seconds_left=42 * 60,
            sla_metric="first_response",
            waiting_seconds=3 * 3600,
        )
    )
    assert result.parts == (
        ("first response due in 42 business min", 61.6),
        ("priority high", 25.0),
        ("severity sev2", 20.0),
        ("enterprise customer", 20.0),
        ("VIP", 15.0),
        ("escalated to L2", 10.0),
        ("waiting 3.0 h", 6.0),
    )
    assert result.total == 157.6
    assert result.explanation.startswith("first response due in 42 business min +61.6; priority high +25")
    assert score(Urgency(priority="low", severity="sev4")).explanation == "nothing urgent"


def test_sla_points_at_the_edges() -> None:
    assert sla_points(None) == 0.0
    assert sla_points(0) == 100.0
    assert sla_points(3600) == 50.0
    assert sla_points(-3600) == 110.0
    assert sla_points(-10 * 86400) == 150.0


@given(a=seconds, b=seconds)
def test_less_time_left_never_scores_lower(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert sla_points(low) >= sla_points(high)


@given(priority=priorities, severity=severities, left=st.one_of(st.none(), seconds), level=st.integers(1, 9))
def test_the_total_is_the_sum_of_its_parts_and_never_negative(
    priority: str, severity: str, left: float | None, level: int
) -> None:
    result = score(Urgency(priority=priority, severity=severity, sla_seconds_left=left, escalation_level=level))
    assert result.total == round(sum(points for _, points in result.parts), 1)
    assert all(points >= 0 for _, points in result.parts)


@given(severity=severities, left=st.one_of(st.none(), seconds))
def test_a_higher_priority_never_scores_lower(severity: str, left: float | None) -> None:
    ordered = [
        score(Urgency(priority=p, severity=severity, sla_seconds_left=left)).total for p in ("low", "normal", "high", "urgent")
    ]
    assert ordered == sorted(ordered)
