"""What a customer does on their ticket's page besides replying: follow the escalation in plain
words, ask for one with a reason, and rate the resolution (CSAT)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from escalada.base.errors import ServiceError, ValidationFailed
from escalada.customers.selectors import contact_of
from escalada.desk import escalate as escalating
from escalada.tickets import selectors
from escalada.tickets import services as tickets
from escalada.tickets.models import SatisfactionRating, Status, Ticket

SCORES = [(5, "5 — very happy"), (4, "4"), (3, "3"), (2, "2"), (1, "1 — very unhappy")]


class EscalationRequestForm(forms.Form):
    reason_text = forms.CharField(
        label="Why should we escalate it?", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, strip=True
    )


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label="How happy are you with the resolution?", choices=SCORES, coerce=int, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label="Anything to add? (optional)", widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000
    )


def portal_context(*, ticket: Ticket, **forms_given: Any) -> dict[str, Any]:
    """The customer's side panel: the escalation in their words, the request form, the rating."""
    view = escalating.customer_view(ticket=ticket)
    is_open = ticket.status in (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
    rating = SatisfactionRating.objects.filter(ticket=ticket, round=ticket.reopen_count).first()
    return {
        "customer_escalation": view,
        "escalation_request_form": forms_given.get("escalation_request_form")
        or (EscalationRequestForm() if is_open and view is None else None),
        "rating": rating,
        "rating_form": forms_given.get("rating_form")
        or (RatingForm() if ticket.status in (Status.SOLVED, Status.CLOSED) and rating is None else None),
    }


def _customer_ticket(request: HttpRequest, ticket_id: int) -> tuple[User, Ticket]:
    user = request.user
    assert isinstance(user, User)
    return user, selectors.ticket_get_accessible(user=user, ticket_id=ticket_id, action=selectors.TicketAction.REPLY)


def _again(request: HttpRequest, ticket: Ticket, **forms_given: Any) -> HttpResponse:
    from escalada.desk.views import detail_context  # the page the forms live on

    context = {**detail_context(request, ticket), **portal_context(ticket=ticket, **forms_given)}
    return render(request, "tickets/detail.html", context, status=422)


@login_required
@require_POST
def ticket_escalation_request(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user, ticket = _customer_ticket(request, ticket_id)
    form = EscalationRequestForm(request.POST)
    if not form.is_valid():
        return _again(request, ticket, escalation_request_form=form)
    try:
        escalating.customer_request(ticket=ticket, actor=user, reason_text=form.cleaned_data["reason_text"])
    except ValidationFailed as exc:
        for field, message in exc.errors.items():
            form.add_error(field if field in form.fields else None, message)
        return _again(request, ticket, escalation_request_form=form)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("ticket-detail", ticket_id=ticket.pk)
    messages.success(request, "Your request is escalated. A senior specialist has it now and will write to you.")
    return redirect("ticket-detail", ticket_id=ticket.pk)


@login_required
@require_POST
def ticket_rate(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user, ticket = _customer_ticket(request, ticket_id)
    contact = contact_of(user=user)
    if contact is None:
        messages.error(request, "Only the customer rates a resolution.")
        return redirect("ticket-detail", ticket_id=ticket.pk)
    form = RatingForm(request.POST)
    if not form.is_valid():
        return _again(request, ticket, rating_form=form)
    try:
        tickets.ticket_rate(
            ticket=ticket, contact=contact, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"]
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("ticket-detail", ticket_id=ticket.pk)
    messages.success(request, "Thank you for rating the resolution.")
    return redirect("ticket-detail", ticket_id=ticket.pk)
