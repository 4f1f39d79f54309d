"""The public support form (`/support/new`) and its embeddable version for in-app use.

No sign-in. Bots are kept out by a honeypot field (filled in → the same thank-you page, nothing
created, so they learn nothing) and a per-address limit (`ESCALADA_SUPPORT_FORM_PER_HOUR`, kept
in the database so all web processes share it; over it → 429 with a sentence).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt

from escalada.base.errors import ValidationFailed
from escalada.base.ratelimit import rate_limit_allows
from escalada.customers.services import contact_find_or_create
from escalada.desk import verbs
from escalada.desk.public_forms import SupportRequestForm
from escalada.tickets.forms import apply_service_errors
from escalada.tickets.models import Channel


def _embedded(request: HttpRequest) -> bool:
    return request.GET.get("embed") == "1"


def _render(request: HttpRequest, template: str, context: dict[str, object], status: int = 200) -> HttpResponse:
    embedded = _embedded(request)
    response = render(request, template, {**context, "embedded": embedded}, status=status)
    if embedded:
        # The widget shows this page in an iframe on the customer's site or app.
        origins = " ".join(settings.ESCALADA_WIDGET_ORIGINS) or "*"
        response["Content-Security-Policy"] = f"frame-ancestors {origins}"
    return response


@xframe_options_exempt
def support_new(request: HttpRequest) -> HttpResponse:
    form = SupportRequestForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        status = 422 if request.method == "POST" else 200
        return _render(request, "desk/support_form.html", {"form": form}, status=status)
    if form.cleaned_data["website"]:
        return _render(request, "desk/support_thanks.html", {"number": None, "email": form.cleaned_data["email"]})
    address = request.META.get("REMOTE_ADDR", "unknown")
    allowed = rate_limit_allows(
        key=f"support-form:{address}",
        limit=settings.ESCALADA_SUPPORT_FORM_PER_HOUR,
        window=timedelta(hours=1),
        now=timezone.now(),
    )
    if not allowed:
        form.add_error(
            None, "Too many requests from your address in the last hour; please try again later or write to us by e-mail."
        )
        return _render(request, "desk/support_form.html", {"form": form}, status=429)
    try:
        with transaction.atomic():
            requester = contact_find_or_create(email=form.cleaned_data["email"], name=form.cleaned_data["name"], actor=None)
            ticket = verbs.ticket_open(
                subject=form.cleaned_data["subject"],
                description=form.cleaned_data["description"],
                requester=requester,
                channel=Channel.WEB,
                actor=None,
            )
    except ValidationFailed as exc:
        apply_service_errors(form, exc, aliases={"description": "description", "subject": "subject", "email": "email"})
        return _render(request, "desk/support_form.html", {"form": form}, status=422)
    return _render(request, "desk/support_thanks.html", {"number": ticket.number, "email": requester.email}, status=201)
