from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from escalada.base.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from escalada.base.pagination import paginate_by_id
from escalada.notifications import selectors, services
from escalada.notifications.models import OutboxState

SHOWN_STATES = {
    "problems": [OutboxState.DEAD, OutboxState.FAILED],
    "pending": [OutboxState.QUEUED, OutboxState.SENDING],
    "sent": [OutboxState.SENT],
}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@login_required
def outbox_list(request: HttpRequest) -> HttpResponse:
    """What went out and what did not: dead and failing messages first, each with replay."""
    view = request.GET.get("show", "problems")
    if view not in SHOWN_STATES:
        view = "problems"
    try:
        messages_ = selectors.outbox_list(user=_user(request), states=[s.value for s in SHOWN_STATES[view]])
    except PermissionDenied as exc:
        return render(request, "notifications/forbidden.html", {"message": exc.message}, status=403)
    page = paginate_by_id(messages_.select_related("ticket"), cursor=request.GET.get("cursor"), limit=50)
    return render(request, "notifications/outbox.html", {"nav": "outbox", "page": page, "show": view})


@login_required
@require_POST
def outbox_replay(request: HttpRequest, message_id: int) -> HttpResponse:
    try:
        message = selectors.outbox_get(user=_user(request), message_id=message_id)
        services.outbox_replay(message=message, actor=_user(request))
    except PermissionDenied as exc:
        return render(request, "notifications/forbidden.html", {"message": exc.message}, status=403)
    except NotFound as exc:
        return render(request, "notifications/forbidden.html", {"message": exc.message}, status=404)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("outbox-list")
    messages.success(request, f"Message {message_id} is queued again; the worker sends it within a second.")
    return redirect("outbox-list")


class WebhookForm(forms.Form):
    name = forms.CharField(max_length=100)
    url = forms.URLField(label="URL", max_length=2000, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=[("*", "Every event"), *[(kind, kind) for kind in services.EVENT_TYPES]],
        widget=forms.CheckboxSelectMultiple,
        label="Events",
    )


def _webhook_page(request: HttpRequest, form: WebhookForm, *, status: int = 200, secret: str = "") -> HttpResponse:
    subscriptions = list(selectors.webhook_list(user=_user(request)).order_by("name"))
    # The delivery log: the latest calls of every subscription, in one query.
    recent: dict[int, list[Any]] = {s.pk: [] for s in subscriptions}
    for message in selectors.webhook_recent_calls(subscription_ids=[s.pk for s in subscriptions]):
        if message.subscription_id is not None and len(recent[message.subscription_id]) < 10:
            recent[message.subscription_id].append(message)
    rows = [(s, recent[s.pk]) for s in subscriptions]
    context = {"nav": "webhooks", "rows": rows, "form": form, "secret": secret}
    return render(request, "notifications/webhooks.html", context, status=status)


@login_required
def webhook_list_page(request: HttpRequest) -> HttpResponse:
    """Settings → Webhooks: subscriptions with their delivery log (replay in the outbox)."""
    try:
        if request.method != "POST":
            return _webhook_page(request, WebhookForm())
        form = WebhookForm(request.POST)
        selectors.webhook_list(user=_user(request))  # admins only, before anything is read
        if not form.is_valid():
            return _webhook_page(request, form, status=422)
        try:
            subscription = services.webhook_subscription_create(
                name=form.cleaned_data["name"],
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                actor=_user(request),
            )
        except ValidationFailed as exc:
            for field, text in exc.errors.items():
                form.add_error(field if field in form.fields else None, text)
            return _webhook_page(request, form, status=422)
        messages.success(request, f"Webhook {subscription.name!r} added. Copy its secret now: it is shown once.")
        return _webhook_page(request, WebhookForm(), secret=subscription.secret)
    except PermissionDenied as exc:
        return render(request, "notifications/forbidden.html", {"message": exc.message}, status=403)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, subscription_id: int) -> HttpResponse:
    try:
        subscription = selectors.webhook_list(user=_user(request)).filter(pk=subscription_id).first()
    except PermissionDenied as exc:
        return render(request, "notifications/forbidden.html", {"message": exc.message}, status=403)
    if subscription is None:
        return render(request, "notifications/forbidden.html", {"message": "There is no such webhook."}, status=404)
    services.webhook_subscription_delete(subscription=subscription, actor=_user(request))
    messages.success(request, f"Webhook {subscription.name!r} removed; calls already queued still go out.")
    return redirect("webhook-list")
