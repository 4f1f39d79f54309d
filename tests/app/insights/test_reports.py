"""Every report formula on a hand-built week with known answers (docs/metrics.md).

Monday 7 December 2026, Berlin office hours, the Standard policy (high: first response 60
business minutes, resolution 8 h; normal: 240 min, 16 h):

- T1 Support, email, high: Sam answers in 30 min, solves at 11:00; Ana rates 5. First-contact
  resolution.
- T2 Support, web, high: answered at 12:00 (first response breached at 11:00, 1 h late); Sam
  escalates at 12:10 (2 h 10 min after opening) to L2; Morgan de-escalates at 13:10 (1 h in tier
  2); solved at 14:00; Ana rates 2.
- T3 Finance, email, normal, Contoso: Fin escalates at 11:00; root cause "product defect";
  resolved at 13:00 (2 h in tier 2, 2 h to resolve); Bob rates 4 at 13:30, then replies at 15:00
  and reopens it (and its escalation).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from escalada.desk import verbs
from escalada.escalations.models import RootCauseCategory
from escalada.insights.filters import ReportFilter
from escalada.insights.models import TicketRollup
from escalada.insights.reports import (
    escalation_rate,
    escalation_times,
    resolution_quality,
    root_causes,
    satisfaction,
    sla_compliance,
)
from escalada.tickets.models import Ticket
from tests.app.conftest import World
from tests.app.insights.conftest import WEEK, catch_up
from tests.app.sla.scenario import berlin

pytestmark = pytest.mark.django_db


def rows(report: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in report.rows]


def test_escalation_rate_by_team_channel_reason_and_customer(week: dict[str, Ticket]) -> None:
    assert rows(escalation_rate(WEEK, "team")) == [
        {"label": "Support", "tickets": 2, "escalations": 1, "escalated": 1, "per_100": 50.0, "escalated_pct": 50.0},
        {"label": "Finance", "tickets": 1, "escalations": 1, "escalated": 1, "per_100": 100.0, "escalated_pct": 100.0},
    ]
    assert rows(escalation_rate(WEEK, "channel")) == [
        {"label": "E-mail", "tickets": 2, "escalations": 1, "escalated": 1, "per_100": 50.0, "escalated_pct": 50.0},
        {"label": "Web form", "tickets": 1, "escalations": 1, "escalated": 1, "per_100": 100.0, "escalated_pct": 100.0},
    ]
    assert rows(escalation_rate(WEEK, "reason")) == [
        {"label": "Lack of progress", "escalations": 1, "per_100": 33.3, "share": 50.0},
        {"label": "Technical expertise needed", "escalations": 1, "per_100": 33.3, "share": 50.0},
    ]
    assert rows(escalation_rate(WEEK, "customer")) == [
        {"label": "Northwind", "tickets": 2, "escalations": 1, "escalated": 1, "per_100": 50.0, "escalated_pct": 50.0},
        {"label": "Contoso", "tickets": 1, "escalations": 1, "escalated": 1, "per_100": 100.0, "escalated_pct": 100.0},
    ]
    assert escalation_rate(WEEK, "team").extra["totals"] == {
        "tickets": 3,
        "escalations": 2,
        "escalated": 2,
        "per_100": 66.7,
        "escalated_pct": 66.7,
    }


def test_times_to_escalate_in_tier_to_resolve(week: dict[str, Ticket]) -> None:
    report = {row["label"]: (row["count"], row["average_s"]) for row in escalation_times(WEEK).rows}
    assert report == {
        # T2 after 2 h 10 min, T3 after 1 h: (7800 + 3600) / 2.
        "Time to escalate (created → first escalation)": (2, 5700.0),
        "Time in tier 1": (0, None),
        # T2's hour in tier 2 ended by the de-escalation; T3's stay is open again (reopened).
        "Time in tier 2": (1, 3600.0),
        "Time in tier 3": (0, None),
        "Time in tier 4 or above": (0, None),
        # T3's escalation was reopened: not resolved any more.
        "Time to resolve an escalation (opened → resolved)": (0, None),
        "Approval turnaround (requested → decided)": (0, None),
    }


def test_sla_compliance_by_metric_and_team(week: dict[str, Ticket]) -> None:
    assert rows(sla_compliance(WEEK, "metric")) == [
        # T1 met; T2 answered an hour late; T3 met by the escalation's resolution (solving fulfils).
        {
            "label": "First response",
            "met": 2,
            "breached": 1,
            "compliance": 66.7,
            "average_lateness": "1.0 h",
            "average_lateness_s": 3600.0,
        },
        {
            "label": "Next response",
            "met": 0,
            "breached": 0,
            "compliance": None,
            "average_lateness": "—",
            "average_lateness_s": None,
        },
        # T1 and T2 solved in time; T3's resolution clock runs again after the reopen.
        {
            "label": "Resolution",
            "met": 2,
            "breached": 0,
            "compliance": 100.0,
            "average_lateness": "—",
            "average_lateness_s": None,
        },
    ]
    by_team = {
        row["label"]: (row["met"], row["breached"], row["fr_compliance"], row["res_compliance"])
        for row in sla_compliance(WEEK, "team").rows
    }
    assert by_team == {"Support": (3, 1, 50.0, 100.0), "Finance": (1, 0, 100.0, None)}


def test_first_contact_resolution_reopens_re_escalations(week: dict[str, Ticket]) -> None:
    assert rows(resolution_quality(WEEK, "team")) == [
        {"label": "Support", "tickets": 2, "solved": 2, "fcr_pct": 50.0, "reopen_pct": 0.0, "re_escalation_pct": 0.0},
        {"label": "Finance", "tickets": 1, "solved": 0, "fcr_pct": None, "reopen_pct": 100.0, "re_escalation_pct": 100.0},
    ]


def test_root_cause_pareto_and_satisfaction(week: dict[str, Ticket]) -> None:
    defect = RootCauseCategory.objects.get(slug="product-defect")
    report = root_causes(WEEK)
    assert rows(report) == [{"label": "Product defect", "key": defect.pk, "escalations": 1, "share": 100.0, "cumulative": 100.0}]
    assert report.extra["without_root_cause"] == 1
    assert report.extra["trend"] == {"categories": ["Product defect"], "months": {"2026-12": {"Product defect": 1}}}
    assert rows(satisfaction(WEEK)) == [
        {"label": "Escalated tickets", "ratings": 2, "average": 3.0, "satisfied_pct": 50.0},
        {"label": "Not escalated", "ratings": 1, "average": 5.0, "satisfied_pct": 100.0},
        {"label": "All tickets", "ratings": 3, "average": 3.67, "satisfied_pct": 66.7},
    ]


def test_filters_narrow_every_report(week: dict[str, Ticket], world: World) -> None:
    finance_only = ReportFilter(start=WEEK.start, end=WEEK.end, team_id=world.finance.pk)
    assert [row["label"] for row in escalation_rate(finance_only, "team").rows] == ["Finance"]
    assert rows(satisfaction(ReportFilter(start=WEEK.start, end=WEEK.end, priority="high")))[2]["ratings"] == 2
    before = ReportFilter(start=date(2026, 11, 1), end=date(2026, 11, 22))  # before the world's tickets
    assert escalation_rate(before, "team").rows == []
    assert escalation_rate(before, "team").extra["totals"]["per_100"] is None


def test_a_ticket_moving_team_moves_its_numbers(week: dict[str, Ticket], world: World) -> None:
    verbs.ticket_assign(
        ticket=Ticket.objects.get(pk=week["t1"].pk),
        team=world.finance,
        assignee=None,
        actor=world.admin,
        now=berlin(8, 9, 0, month=12),
    )
    catch_up()
    assert {row["label"]: row["tickets"] for row in escalation_rate(WEEK, "team").rows} == {"Support": 1, "Finance": 2}
    assert TicketRollup.objects.filter(tickets__lt=0).count() == 0


def test_approval_turnaround_and_time_to_resolve(world: World) -> None:
    """A week later: Sam escalates at 10:00, asks for sign-off at 10:30, Morgan approves at 12:00
    (1 h 30 min), the root cause is recorded and the escalation resolved at 13:00 (3 h)."""
    from escalada.desk import escalate as escalating
    from escalada.escalations import configuration, records

    configuration.default_lists_ensure()
    ticket = verbs.ticket_open(
        subject="Refund twice",
        description="Charged twice.",
        requester=world.ana,
        channel="email",
        actor=None,
        team=world.support,
        now=berlin(14, 9, 0, month=12),
    )
    escalation = escalating.escalate(
        ticket=ticket,
        actor=world.sam.user,
        request=escalating.EscalateRequest(reason="billing-dispute", handoff_note="Double charge confirmed in the ledger."),
        now=berlin(14, 10, 0, month=12),
    )
    records.approval_request(
        escalation=escalation, actor=world.sam.user, note="Refund needs sign-off.", now=berlin(14, 10, 30, month=12)
    )
    escalating.decide(
        escalation=escalation, actor=world.morgan.user, is_approved=True, comment="Refund it.", now=berlin(14, 12, 0, month=12)
    )
    records.root_cause_save(
        escalation=escalation,
        data={
            "category": "process",
            "description": "The retry charged again.",
            "corrective_action": "Refunded.",
            "preventive_action": "Idempotent charges.",
            "owning_team_id": world.support.pk,
            "customer_summary": "A retry charged you twice.",
        },
        actor=world.sam.user,
        now=berlin(14, 12, 30, month=12),
    )
    escalating.resolve(escalation=escalation, actor=world.morgan.user, now=berlin(14, 13, 0, month=12))
    catch_up()
    week = ReportFilter(start=date(2026, 12, 14), end=date(2026, 12, 20))
    times = {row["label"]: (row["count"], row["average_s"]) for row in escalation_times(week).rows}
    assert times["Time to escalate (created → first escalation)"] == (1, 3600.0)
    assert times["Approval turnaround (requested → decided)"] == (1, 5400.0)
    assert times["Time to resolve an escalation (opened → resolved)"] == (1, 10800.0)
    assert times["Time in tier 2"] == (1, 10800.0)


def test_a_range_reads_whole_months_by_month_and_the_rest_by_day() -> None:
    from django.db.models import Q

    assert ReportFilter(start=date(2026, 1, 15), end=date(2026, 4, 10)).periods() == (
        Q(grain="m", day__gte=date(2026, 2, 1), day__lt=date(2026, 4, 1))
        | Q(grain="d", day__gte=date(2026, 1, 15), day__lt=date(2026, 2, 1))
        | Q(grain="d", day__gte=date(2026, 4, 1), day__lte=date(2026, 4, 10))
    )
    assert ReportFilter(start=date(2026, 1, 1), end=date(2026, 12, 31)).periods() == Q(
        grain="m", day__gte=date(2026, 1, 1), day__lt=date(2027, 1, 1)
    )
    assert ReportFilter(start=date(2026, 12, 7), end=date(2026, 12, 13)).periods() == Q(
        grain="d", day__gte=date(2026, 12, 7), day__lte=date(2026, 12, 13)
    )


def test_a_whole_month_and_its_days_give_the_same_report(week: dict[str, Ticket]) -> None:
    december = ReportFilter(start=date(2026, 12, 1), end=date(2026, 12, 31))
    by_days = ReportFilter(start=date(2026, 12, 2), end=date(2026, 12, 31))  # not whole: read by day
    assert rows(escalation_rate(december, "team")) == rows(escalation_rate(by_days, "team"))
    assert rows(sla_compliance(december, "metric")) == rows(sla_compliance(by_days, "metric"))
