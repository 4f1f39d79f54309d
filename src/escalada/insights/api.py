"""/api/v1/dashboard and /api/v1/reports/…: the same numbers as the pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router

from escalada.base.errors import PermissionDenied
from escalada.base.schemas import ErrorOut
from escalada.insights import reports
from escalada.insights.access import may_see_dashboard, may_see_reports
from escalada.insights.dashboard import dashboard
from escalada.insights.facts import report_zone
from escalada.insights.filters import ReportFilter, filter_parse

router = Router(tags=["insights"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def _filter(request: HttpRequest) -> ReportFilter:
    if not may_see_reports(request.user):
        raise PermissionDenied("Reports are for team leads, escalation managers and admins.")
    return filter_parse(request.GET, today=timezone.now().astimezone(report_zone()).date())


@router.get("/dashboard", response={200: dict[str, Any], **ERRORS}, summary="The live dashboard's figures")
def dashboard_get(request: HttpRequest) -> dict[str, Any]:
    """Open tickets, active escalations, SLAs breaching within the hour, breaches today,
    unacknowledged escalations, the oldest waiting customer, agent load, worker and outbox health."""
    if not may_see_dashboard(request.user):
        raise PermissionDenied("The dashboard is for the support team.")
    return dashboard(now=timezone.now()).as_json()


@router.get("/reports", response={200: list[dict[str, str]], **ERRORS}, summary="The reports there are")
def report_list(request: HttpRequest) -> list[dict[str, str]]:
    _filter(request)
    return [{"name": name, "path": f"/api/v1/reports/{name}"} for name in reports.REPORTS]


@router.get("/reports/{name}", response={200: dict[str, Any], **ERRORS}, summary="One report")
def report_get(request: HttpRequest, name: str) -> dict[str, Any]:
    """Query: `from`, `to` (YYYY-MM-DD; default the last 30 days), `team`, `category` (ids),
    `channel`, `tier`, `priority`, `severity`, `group_by` (each report lists its choices).
    Tickets count on the day they were created, in the report time zone."""
    found = _filter(request)
    return reports.report_run(name, found, request.GET.get("group_by") or None).as_json()


@router.get(
    "/reports/root-causes/{category_id}/escalations",
    response={200: list[dict[str, Any]], **ERRORS},
    summary="The escalations behind one root-cause bar",
)
def root_cause_escalations(request: HttpRequest, category_id: int) -> list[dict[str, Any]]:
    found = _filter(request)
    return [
        {
            "id": e.pk,
            "ticket": e.ticket_id,
            "ticket_number": e.ticket.number,
            "subject": e.ticket.subject,
            "reason": e.reason.name,
            "status": e.status,
            "opened_at": e.opened_at.isoformat(),
            "root_cause": e.root_cause.description,
        }
        for e in reports.root_cause_escalations(found, category_id)
    ]
