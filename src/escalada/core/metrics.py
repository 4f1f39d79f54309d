"""The report arithmetic, pure: rates, averages, the Pareto ordering. Formulas in docs/metrics.md.

Every ratio of nothing is `None` (shown as "—"), never 0: "no tickets" is not "0 % escalated".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def ratio(part: int, whole: int, *, scale: int = 100) -> float | None:
    """`part / whole × scale`, rounded to one decimal; None when `whole` is 0."""
    if whole <= 0:
        return None
    return round(part * scale / whole, 1)


def average(total: int, count: int) -> float | None:
    """The mean of `count` values summing to `total`, to one decimal; None when there are none."""
    if count <= 0:
        return None
    return round(total / count, 1)


def compliance(met: int, breached: int) -> float | None:
    """SLA compliance in percent: met ÷ (met + breached). Clocks still running are not decided."""
    return ratio(met, met + breached)


@dataclass(frozen=True)
class ParetoBar:
    label: str
    key: int
    count: int
    share: float  # percent of all, one decimal
    cumulative: float  # percent of all up to and including this bar, one decimal


def pareto(counts: Sequence[tuple[str, int, int]]) -> list[ParetoBar]:
    """(label, key, count) ordered from the largest count down (ties by label), with each bar's
    share and the running share. Zero counts are left out; the last bar's running share is 100."""
    rows = sorted((row for row in counts if row[2] > 0), key=lambda row: (-row[2], row[0]))
    total = sum(row[2] for row in rows)
    bars, running = [], 0
    for label, key, count in rows:
        running += count
        bars.append(
            ParetoBar(
                label=label,
                key=key,
                count=count,
                share=round(count * 100 / total, 1),
                cumulative=round(running * 100 / total, 1),
            )
        )
    return bars


def duration_words(seconds: float | None) -> str:
    """A duration for a table cell: "—", "45 s", "12 min", "3.5 h", "2.1 d"."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
