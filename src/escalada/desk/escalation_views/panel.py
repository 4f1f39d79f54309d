"""The ticket page's escalation panel: escalate up, transfer to a team."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from escalada.accounts.selectors import is_staff_role, user_role
from escalada.base.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from escalada.desk import escalate as escalating
from escalada.desk.escalation_views.common import (
    ACTIVE_COLUMNS,
    is_htmx,
    request_user,
    severity_label_of,
)
from escalada.desk.escalation_views.forms import (
    EscalateForm,
    TransferForm,
)
from escalada.escalations import records
from escalada.escalations.models import (
    Escalation,
)
from escalada.tickets import selectors as ticket_selectors
from escalada.tickets.forms import apply_service_errors
from escalada.tickets.models import Ticket

# --- the ticket page's escalation panel -------------------------------------------------------------


def _panel_ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    """Staff only: customers never see the panel (404, as for any page they may not see)."""
    user = request_user(request)
    if not is_staff_role(user_role(user=user)):
        raise Http404("No such ticket.")
    try:
        return ticket_selectors.ticket_get_accessible(user=user, ticket_id=ticket_id)
    except NotFound:
        raise Http404("No such ticket.") from None


def _panel_context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    escalate_form: EscalateForm | None = None,
    transfer_form: TransferForm | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    user = request_user(request)
    may_skip = user_role(user=user) in records.MANAGING_ROLES
    active = (
        Escalation.objects.filter(ticket=ticket, status__in=[s.value for s in ACTIVE_COLUMNS])
        .select_related("owner", "to_team")
        .first()
    )
    seen = active.level if active is not None else 0  # 0: not escalated yet
    return {
        "ticket": ticket,
        "active_escalation": active,
        "severity_label": severity_label_of(active.severity) if active is not None else "",
        "may_change": ticket_selectors.ticket_may_change(user=user, ticket=ticket),
        "escalate_form": escalate_form or EscalateForm(prefix="up", may_skip_levels=may_skip, initial={"from_level": seen}),
        "transfer_form": transfer_form or TransferForm(prefix="transfer"),
        "panel_error": error,
    }


def _panel_response(request: HttpRequest, ticket: Ticket, status: int, **kwargs: Any) -> HttpResponse:
    context = _panel_context(request, ticket, **kwargs)
    if is_htmx(request):
        # htmx swaps only 2xx answers: errors come back in a 200 partial, as on the reply box.
        return render(request, "desk/escalations/_ticket_panel.html", context)
    return render(request, "desk/escalations/ticket_panel_page.html", {**context, "nav": "tickets"}, status=status)


@login_required
def ticket_escalation_panel(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The panel: a partial for the ticket page (htmx), a page of its own without JavaScript."""
    ticket = _panel_ticket(request, ticket_id)
    return _panel_response(request, ticket, 200)


def _panel_post(
    request: HttpRequest,
    ticket_id: int,
    form: forms.Form,
    form_key: str,
    work: Callable[[User, Ticket], Escalation],
    done: Callable[[Escalation], str],
    aliases: dict[str, str],
) -> HttpResponse:
    ticket = _panel_ticket(request, ticket_id)
    user = request_user(request)
    status, error = 422, None
    if form.is_valid():
        try:
            with transaction.atomic():
                changeable = ticket_selectors.ticket_get_accessible(
                    user=user, ticket_id=ticket.pk, action=ticket_selectors.TicketAction.CHANGE
                )
                escalation = work(user, changeable)
        except ValidationFailed as exc:
            apply_service_errors(form, exc, aliases)
        except (PermissionDenied, Conflict) as exc:
            status, error = exc.status, exc.message
        except NotFound:
            raise Http404("No such ticket.") from None
        else:
            messages.success(request, done(escalation))
            if is_htmx(request):
                return HttpResponseClientRedirect(f"/tickets/{ticket.pk}/")
            return redirect("ticket-detail", ticket_id=ticket.pk)
    return _panel_response(request, ticket, status, error=error, **{form_key: form})


@login_required
@require_POST
def ticket_escalate(request: HttpRequest, ticket_id: int) -> HttpResponse:
    may_skip = user_role(user=request_user(request)) in records.MANAGING_ROLES
    form = EscalateForm(request.POST, prefix="up", may_skip_levels=may_skip)

    def work(user: User, ticket: Ticket) -> Escalation:
        data = form.cleaned_data
        return escalating.escalate(
            ticket=ticket,
            actor=user,
            request=escalating.EscalateRequest(
                reason=data["reason"].slug,
                handoff_note=data.get("handoff_note") or "",
                level=data.get("level"),
                seen_level=data.get("from_level"),
            ),
        )

    return _panel_post(
        request,
        ticket_id,
        form,
        "escalate_form",
        work,
        lambda e: (
            f"Escalated to L{e.level}: {e.to_team.name if e.to_team else 'no team'}, "
            f"{e.to_user.get_username() if e.to_user else 'unassigned'}."
        ),
        {},
    )


@login_required
@require_POST
def ticket_transfer(request: HttpRequest, ticket_id: int) -> HttpResponse:
    form = TransferForm(request.POST, prefix="transfer")

    def work(user: User, ticket: Ticket) -> Escalation:
        data = form.cleaned_data
        return escalating.transfer(
            ticket=ticket, actor=user, team=data["team"], reason=data["reason"].slug, handoff_note=data.get("handoff_note") or ""
        )

    return _panel_post(
        request,
        ticket_id,
        form,
        "transfer_form",
        work,
        lambda e: f"Transferred to {e.to_team.name if e.to_team else 'another team'}; the customer's SLA clocks carry on.",
        {"team_id": "team"},
    )
