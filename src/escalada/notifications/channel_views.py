"""Settings → Channels: where customer messages come in. IMAP mailboxes and intake secrets are
managed here (admins only); the web form, the widget and the SMTP listener are shown as set."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from escalada.base.errors import NotFound, PermissionDenied, ValidationFailed
from escalada.notifications import channels
from escalada.notifications.models import Mailbox


class MailboxForm(forms.Form):
    name = forms.CharField(max_length=100)
    host = forms.CharField(label="IMAP server", max_length=253)
    port = forms.IntegerField(initial=993, min_value=1, max_value=65535)
    is_ssl = forms.BooleanField(label="TLS (IMAPS)", required=False, initial=True)
    username = forms.CharField(label="User name", max_length=254)
    password = forms.CharField(
        max_length=500, required=False, widget=forms.PasswordInput, help_text="On a change, leave blank to keep the current one."
    )
    folder = forms.CharField(max_length=200, initial="INBOX")
    is_active = forms.BooleanField(label="Poll this mailbox", required=False, initial=True)


class SecretForm(forms.Form):
    # Its own ids: the mailbox form on the same page has a "name" field too.
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "secret_%s")
        super().__init__(*args, **kwargs)

    name = forms.CharField(label="Used by", max_length=100, help_text="E.g. “Chat widget” or “Phone system”.")


def _int_or_none(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _page(
    request: HttpRequest,
    *,
    mailbox_form: MailboxForm | None = None,
    secret_form: SecretForm | None = None,
    new_secret: str = "",
    editing: Mailbox | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    context: dict[str, Any] = {
        "nav": "channels",
        "mailboxes": list(channels.mailbox_list(user=user)),
        "secrets": list(channels.intake_secret_list(user=user)),
        "mailbox_form": mailbox_form or MailboxForm(),
        "secret_form": secret_form or SecretForm(),
        "new_secret": new_secret,
        "editing": editing,
        "env_imap": f"{settings.ESCALADA_IMAP_USER}@{settings.ESCALADA_IMAP_HOST}:{settings.ESCALADA_IMAP_PORT}/{settings.ESCALADA_IMAP_FOLDER}"
        if settings.ESCALADA_IMAP_HOST
        else "",
        "env_secret": bool(settings.ESCALADA_INTAKE_SECRET),
        "widget_origins": settings.ESCALADA_WIDGET_ORIGINS,
        "form_per_hour": settings.ESCALADA_SUPPORT_FORM_PER_HOUR,
        "base_url": settings.BASE_URL,
        "every": settings.ESCALADA_IMAP_EVERY_SECONDS,
    }
    return render(request, "notifications/channels.html", context, status=status)


def _forbidden(request: HttpRequest, exc: PermissionDenied | NotFound, status: int) -> HttpResponse:
    return render(request, "notifications/forbidden.html", {"message": exc.message}, status=status)


NEW_SECRET_KEY = "channels_new_secret"  # noqa: S105 - a session key


@login_required
@never_cache
def channels_page(request: HttpRequest) -> HttpResponse:
    try:
        return _page(request, new_secret=request.session.pop(NEW_SECRET_KEY, ""))
    except PermissionDenied as exc:
        return _forbidden(request, exc, 403)


@login_required
def mailbox_edit(request: HttpRequest, mailbox_id: int | None = None) -> HttpResponse:
    """GET: the form filled in; POST: save (a new mailbox when there is no id)."""
    try:
        mailbox = channels.mailbox_get(user=_user(request), mailbox_id=mailbox_id) if mailbox_id else None
        if request.method != "POST":
            initial = {name: getattr(mailbox, name) for name in channels.PUBLIC_FIELDS} if mailbox else None
            return _page(request, mailbox_form=MailboxForm(initial=initial), editing=mailbox)
        channels.require_admin(request.user)
        form = MailboxForm(request.POST)
        if not form.is_valid():
            # Every wrong field at once: the service's sentences for those the form let through.
            raw = {**request.POST.dict(), "port": _int_or_none(request.POST.get("port", ""))}
            for field, text in channels.mailbox_problems(raw, mailbox=mailbox).items():
                if field not in form.errors:
                    form.add_error(field, text)
            return _page(request, mailbox_form=form, editing=mailbox, status=422)
        try:
            saved = channels.mailbox_save(mailbox=mailbox, data=form.cleaned_data, actor=_user(request))
        except ValidationFailed as exc:
            for field, text in exc.errors.items():
                form.add_error(field if field in form.fields else None, text)
            return _page(request, mailbox_form=form, editing=mailbox, status=422)
    except PermissionDenied as exc:
        return _forbidden(request, exc, 403)
    except NotFound as exc:
        return _forbidden(request, exc, 404)
    messages.success(request, f"Mailbox {saved.name!r} saved; `escalada mail imap` polls it from its next turn.")
    return redirect("channels")


@login_required
@require_POST
def mailbox_remove(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    try:
        mailbox = channels.mailbox_get(user=_user(request), mailbox_id=mailbox_id)
        channels.mailbox_delete(mailbox=mailbox, actor=_user(request))
    except PermissionDenied as exc:
        return _forbidden(request, exc, 403)
    except NotFound as exc:
        return _forbidden(request, exc, 404)
    messages.success(request, f"Mailbox {mailbox.name!r} removed; mail already received stays.")
    return redirect("channels")


@login_required
@require_POST
def secret_create(request: HttpRequest) -> HttpResponse:
    try:
        channels.require_admin(request.user)
        form = SecretForm(request.POST)
        if not form.is_valid():
            return _page(request, secret_form=form, status=422)
        try:
            row = channels.intake_secret_create(name=form.cleaned_data["name"], actor=_user(request))
        except ValidationFailed as exc:
            form.add_error("name", exc.errors["name"])
            return _page(request, secret_form=form, status=422)
        messages.success(request, f"Secret for {row.name!r} made. Copy it now: it is shown once.")
        # Shown on the next page once (from the session), so a reload neither mints another
        # secret nor shows it again.
        request.session[NEW_SECRET_KEY] = row.secret
        return redirect("channels")
    except PermissionDenied as exc:
        return _forbidden(request, exc, 403)


@login_required
@require_POST
def secret_revoke(request: HttpRequest, secret_id: int) -> HttpResponse:
    try:
        row = channels.intake_secret_revoke(secret_id=secret_id, actor=_user(request))
    except PermissionDenied as exc:
        return _forbidden(request, exc, 403)
    except NotFound as exc:
        return _forbidden(request, exc, 404)
    messages.success(request, f"Secret for {row.name!r} revoked: calls signed with it are refused from now on.")
    return redirect("channels")
