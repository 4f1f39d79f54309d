"""The report arithmetic (escalada.core.metrics)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from escalada.core.metrics import ParetoBar, average, compliance, duration_words, pareto, ratio


def test_ratios_of_nothing_are_none_not_zero() -> None:
    assert (ratio(0, 0), average(0, 0), compliance(0, 0)) == (None, None, None)
    assert (ratio(1, 3), ratio(2, 3), ratio(1, 3, scale=1)) == (33.3, 66.7, 0.3)
    assert (compliance(2, 1), average(11400, 2)) == (66.7, 5700.0)


def test_pareto_orders_by_count_then_label_and_ends_at_100() -> None:
    assert pareto([("Training", 3, 2), ("Product defect", 1, 5), ("Process", 2, 2), ("Third party", 4, 0)]) == [
        ParetoBar(label="Product defect", key=1, count=5, share=55.6, cumulative=55.6),
        ParetoBar(label="Process", key=2, count=2, share=22.2, cumulative=77.8),
        ParetoBar(label="Training", key=3, count=2, share=22.2, cumulative=100.0),
    ]


@given(st.lists(st.tuples(st.text(max_size=5), st.integers(0, 99), st.integers(0, 1000)), max_size=30))
def test_pareto_running_share_never_falls_and_reaches_100(rows: list[tuple[str, int, int]]) -> None:
    bars = pareto(rows)
    assert [b.count for b in bars] == sorted((b.count for b in bars), reverse=True)
    assert all(a.cumulative <= b.cumulative for a, b in zip(bars, bars[1:], strict=False))
    assert sum(b.count for b in bars) == sum(r[2] for r in rows)
    if bars:
        assert bars[-1].cumulative == 100.0


@given(st.integers(0, 10**6), st.integers(1, 10**6))
def test_ratio_stays_within_the_scale_when_the_part_is_a_share(part: int, whole: int) -> None:
    share = ratio(min(part, whole), whole)
    assert share is not None
    assert 0.0 <= share <= 100.0


def test_duration_words() -> None:
    assert [duration_words(s) for s in (None, 45, 720, 3600, 12600, 181440)] == ["—", "45 s", "12 min", "1.0 h", "3.5 h", "2.1 d"]
