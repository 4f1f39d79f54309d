"""The escalation board: columns by status, unacknowledged first, filtered by GET."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from escalada.base.errors import PermissionDenied
from escalada.desk.escalation_views.common import (
    ACTIVE_COLUMNS,
    BOARD_LIMIT,
    ENDED_COLUMNS,
    request_user,
    severity_label_of,
)
from escalada.desk.escalation_views.forms import (
    BoardFilterForm,
)
from escalada.escalations import selectors
from escalada.escalations.models import (
    Escalation,
)
from escalada.sla.views import absolute, relative, viewer_zone

# --- the board ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    escalation: Escalation
    severity_label: str
    overdue_steps: int
    age: str  # "3 h ago"
    opened: str  # the absolute time, for the hover


@dataclass(frozen=True)
class Column:
    status: str
    label: str
    cards: list[Card]


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "desk/escalations/forbidden.html", {"nav": "escalations", "message": message}, status=403)


@login_required
def escalation_board(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    try:
        rows = selectors.escalation_list_accessible(user=user)
    except PermissionDenied as exc:
        return forbidden(request, exc.message)
    form = BoardFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    show = data.get("show") or ""
    statuses = {"": ACTIVE_COLUMNS, "ended": ENDED_COLUMNS, "all": ACTIVE_COLUMNS + ENDED_COLUMNS}[show]
    base = selectors.escalation_filter(
        rows,
        selectors.EscalationFilters(
            level=data.get("level"),
            team_id=data["team"].pk if data.get("team") else None,
            severity=[data["severity"]] if data.get("severity") else None,
            category=data["category"].slug if data.get("category") else None,
            owner_id=data["owner"].pk if data.get("owner") else None,
            type=data.get("type") or None,
        ),
    )
    shown = base.filter(status__in=[s.value for s in statuses])
    escalations = list(selectors.board_order(shown)[:BOARD_LIMIT])
    now, zone = timezone.now(), viewer_zone(user)
    overdue = selectors.overdue_step_counts([e.pk for e in escalations], now=now)
    cards: dict[str, list[Card]] = {s.value: [] for s in statuses}
    for escalation in escalations:
        cards[escalation.status].append(
            Card(
                escalation=escalation,
                severity_label=severity_label_of(escalation.severity),
                overdue_steps=overdue.get(escalation.pk, 0),
                age=relative(escalation.opened_at, now),
                opened=absolute(escalation.opened_at, zone),
            )
        )
    columns = [Column(status=s.value, label=s.label, cards=cards[s.value]) for s in statuses]
    ended = base.filter(status__in=[s.value for s in ENDED_COLUMNS]).count() if show == "" else None
    query = request.GET.copy()
    query.pop("show", None)
    context = {
        "nav": "escalations",
        "form": form,
        "columns": columns,
        "total": len(escalations),
        "is_capped": len(escalations) == BOARD_LIMIT,
        "ended_count": ended,
        "show": show,
        "filter_query": query.urlencode(),
        "is_filtered": any(value not in (None, "") for name, value in data.items() if name != "show"),
    }
    return render(request, "desk/escalations/board.html", context)
