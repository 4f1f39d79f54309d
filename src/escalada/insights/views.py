"""/dashboard/ and /reports/…: pages over the same selectors the API uses."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from escalada.accounts.models import Team
from escalada.base.errors import NotFound, ValidationFailed
from escalada.core.metrics import duration_words
from escalada.customers.models import Tier
from escalada.escalations.models import RootCauseCategory
from escalada.insights import reports
from escalada.insights.access import may_see_dashboard, may_see_reports
from escalada.insights.charts import bar_chart, pareto_chart
from escalada.insights.dashboard import dashboard
from escalada.insights.facts import report_zone
from escalada.insights.filters import filter_parse
from escalada.sla.views import viewer_zone
from escalada.tickets.models import Category, Channel, Priority, Severity

TITLES = {
    "escalation-rate": "Escalation rate",
    "escalation-times": "Time per tier",
    "sla-compliance": "SLA compliance",
    "resolution-quality": "FCR · reopens · re-escalations",
    "root-causes": "Root causes",
    "satisfaction": "CSAT",
}


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "insights/forbidden.html", {"message": message}, status=403)


@login_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    if not may_see_dashboard(request.user):
        return _forbidden(request, "The dashboard is for the support team.")
    board = dashboard(now=timezone.now())
    waiting = board.oldest_waiting
    context = {
        "nav": "dashboard",
        "board": board,
        "open_total": sum(board.open_by_status.values()),
        "waiting": waiting,
        "waiting_words": duration_words(waiting["waiting_s"]) if waiting else "",
        "zone": viewer_zone(request.user).key,
        "health": board.health,
    }
    return render(request, "insights/dashboard.html", context)


@login_required
def report_page(request: HttpRequest, name: str = "escalation-rate") -> HttpResponse:
    if not may_see_reports(request.user):
        return _forbidden(request, "Reports are for team leads, escalation managers and admins.")
    if name not in reports.REPORTS:
        raise Http404("No such report.")
    today = timezone.now().astimezone(report_zone()).date()
    errors: dict[str, str] = {}
    try:
        found = filter_parse(request.GET, today=today)
        report = reports.report_run(name, found, request.GET.get("group_by") or None)
    except ValidationFailed as exc:
        errors = exc.errors
        found = filter_parse({}, today=today)
        report = reports.report_run(name, found, None)
    if request.GET.get("format") == "csv" and not errors:
        response = HttpResponse(report.as_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}-{found.start}-{found.end}.csv"'
        return response
    context: dict[str, Any] = {
        "nav": "reports",
        "name": name,
        "titles": TITLES,
        "report": report,
        "chart": _chart(report),
        "errors": errors,
        "values": request.GET,
        "query": found.as_query(),
        "is_print": request.GET.get("print") == "1",
        "teams": Team.objects.order_by("name"),
        "categories": Category.objects.order_by("name"),
        "channels": Channel.choices,
        "tiers": Tier.choices,
        "priorities": Priority.choices,
        "severities": Severity.choices,
        "zone": report_zone().key,
    }
    status = 422 if errors else 200
    return render(request, "insights/report.html", context, status=status)


def _chart(report: reports.Report) -> Any:
    if report.chart_kind == "pareto":
        return pareto_chart([(r["label"], r["escalations"], r["cumulative"]) for r in report.rows], title=report.title)
    column = next(c for c in report.columns if c.key == report.chart_value)
    unit = " %" if column.kind == "percent" else (" h" if report.chart_value == "average_h" else "")
    return bar_chart(
        [(r["label"], r.get(report.chart_value)) for r in report.rows], title=f"{report.title}: {column.label}", unit=unit
    )


@login_required
def root_cause_page(request: HttpRequest, category_id: int) -> HttpResponse:
    if not may_see_reports(request.user):
        return _forbidden(request, "Reports are for team leads, escalation managers and admins.")
    today = timezone.now().astimezone(report_zone()).date()
    try:
        found = filter_parse(request.GET, today=today)
        rows = reports.root_cause_escalations(found, category_id)
    except ValidationFailed as exc:
        return render(request, "insights/forbidden.html", {"message": " ".join(exc.errors.values())}, status=422)
    except NotFound as exc:
        return render(request, "insights/forbidden.html", {"message": exc.message}, status=404)
    category = RootCauseCategory.objects.get(pk=category_id)
    context = {"nav": "reports", "rows": rows, "category": category, "query": found.as_query(), "filter": found}
    return render(request, "insights/root_cause_list.html", context)
