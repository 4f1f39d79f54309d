"""The agent's queue page (`/queue/`) and its "Next ticket" button."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from escalada.accounts.models import Team
from escalada.accounts.selectors import is_staff_role, user_role
from escalada.base.errors import NotFound, ServiceError, ValidationFailed
from escalada.desk import verbs
from escalada.desk.queue import queue_next, queue_rank
from escalada.desk.queue_filter import (
    ASSIGNED,
    OPEN_CHOICES,
    filter_problem_free,
    saved_view_delete,
    saved_view_save,
    saved_views_of,
)
from escalada.sla.selectors import ticket_sla_many
from escalada.sla.views import sla_chips, viewer_zone
from escalada.tickets.models import Priority, Severity


def _forbidden(request: HttpRequest) -> HttpResponse:
    message = "The queue is for the support team."
    return render(request, "desk/escalations/forbidden.html", {"nav": "queue", "message": message}, status=403)


def _staff(request: HttpRequest) -> User | None:
    user = request.user
    if isinstance(user, User) and is_staff_role(user_role(user=user)):
        return user
    return None


@login_required
def queue_page(request: HttpRequest) -> HttpResponse:
    user = _staff(request)
    if user is None:
        return _forbidden(request)
    now, zone = timezone.now(), viewer_zone(user)
    chosen, errors = filter_problem_free(request.GET)
    rows = queue_rank(user=user, now=now, narrow=lambda tickets: chosen.apply(tickets, user=user))
    page = _page_number(request.GET.get("page"), len(rows))
    on_page = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    clocks = ticket_sla_many(ticket_ids=[row.ticket.pk for row in on_page], now=now)
    shown = [
        (row, sla_chips(clocks.get(row.ticket.pk, []), now=now, zone=zone, status_label=row.ticket.get_status_display()))
        for row in on_page
    ]
    context = {
        "nav": "queue",
        "rows": shown,
        "count": len(rows),
        "first_rank": (page - 1) * PAGE_SIZE + 1,
        "next_page": page + 1 if page * PAGE_SIZE < len(rows) else None,
        "previous_page": page - 1 if page > 1 else None,
        "filter": chosen,
        "filter_query": urlencode(chosen.as_query()),
        "errors": errors,
        "views": saved_views_of(user),
        "teams": Team.objects.order_by("name"),
        "assigned_choices": ASSIGNED.items(),
        "status_choices": [(s.value, s.label) for s in OPEN_CHOICES],
        "priority_choices": Priority.choices,
        "severity_choices": Severity.choices,
    }
    # 200 even with a wrong filter (shown above the whole queue): the page's live region polls
    # this address, and htmx does not swap an error answer in.
    return render(request, "desk/queue.html", context)


PAGE_SIZE = 50


def _queue_url(query: dict[str, str]) -> str:
    return reverse("queue") + (f"?{urlencode(query)}" if query else "")


@login_required
@require_POST
def queue_view_save(request: HttpRequest) -> HttpResponse:
    """Save the filter being looked at under a name (the same name replaces it)."""
    user = _staff(request)
    if user is None:
        return _forbidden(request)
    try:
        view = saved_view_save(owner=user, name=request.POST.get("view_name", ""), data=request.POST, now=timezone.now())
    except ValidationFailed as exc:
        for message in exc.errors.values():
            messages.error(request, message)
        chosen, _errors = filter_problem_free(request.POST)
        return redirect(_queue_url(chosen.as_query()))
    messages.success(request, f"View {view.name!r} saved.")
    return redirect(_queue_url(view.query))


@login_required
@require_POST
def queue_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    user = _staff(request)
    if user is None:
        return _forbidden(request)
    try:
        saved_view_delete(owner=user, view_id=view_id)
    except NotFound as exc:
        messages.error(request, exc.message)
        return redirect("queue")
    messages.success(request, "View removed.")
    return redirect("queue")


def _page_number(raw: str | None, total: int) -> int:
    """The page asked for, kept within the queue (a bad or stale number shows the nearest page)."""
    try:
        page = int(raw or 1)
    except ValueError:
        page = 1
    last = max(1, -(-total // PAGE_SIZE))
    return min(max(page, 1), last)


@login_required
@require_POST
def queue_next_ticket(request: HttpRequest) -> HttpResponse:
    """Take the top ticket this person may work: assign it to them if nobody has it, open it."""
    user = _staff(request)
    if user is None:
        return _forbidden(request)
    chosen, errors = filter_problem_free(request.POST)
    if errors:
        for message in errors.values():
            messages.error(request, message)
        return redirect("queue")
    ticket = queue_next(user=user, now=timezone.now(), narrow=lambda tickets: chosen.apply(tickets, user=user))
    if ticket is None:
        where = "in this view" if not chosen.is_empty() else "in your queue"
        messages.info(request, f"Nothing is waiting for you: no new or open ticket {where}.")
        return redirect(_queue_url(chosen.as_query()))
    if ticket.assignee_id is None and hasattr(user, "agent_profile"):
        try:
            verbs.ticket_assign(ticket=ticket, team=ticket.team, assignee=user, actor=user)
        except ServiceError as exc:  # e.g. not in the ticket's team any more: open it anyway
            messages.warning(request, exc.message)
    return redirect("ticket-detail", ticket_id=ticket.pk)
