"""Settings → E-mail templates: the customer e-mails, each shipped or changed by an admin; edit
the subject and bodies, preview them rendered for a sample ticket (or a real one) before saving,
go back to the shipped version. Admins only, as in the API; every write is a service call
(`services.mail_template_save` / `mail_template_reset`) and a template that does not parse shows
the template error next to its field and saves nothing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from escalada.base.errors import PermissionDenied, ValidationFailed
from escalada.notifications import selectors, services
from escalada.notifications.mail_templates import (
    KINDS,
    RenderedMail,
    mail_context,
    render_draft,
    sample_context,
    shipped_sources,
    template_problems,
)
from escalada.tickets.models import Message, Ticket

VARIABLES = (
    "ticket.number, ticket.subject, ticket.status, ticket.priority, ticket.url, requester.name, requester.email, "
    "message.text, message.html, message.author (replies), resolution.summary and reopen_url (solved), token, "
    "support_address"
)


class TemplateForm(forms.Form):
    subject = forms.CharField(max_length=300)
    body_text = forms.CharField(
        label="Text body", strip=False, widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "code"})
    )
    body_html = forms.CharField(
        label="HTML body",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "code"}),
        help_text="Optional; empty sends the text body only.",
    )
    ticket = forms.IntegerField(
        required=False,
        min_value=1,
        label="Preview with ticket #",
        help_text="Empty: a made-up ticket (Ana Lima at Northwind).",
    )


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return render(request, "notifications/forbidden.html", {"nav": "templates", "message": exc.message}, status=403)


@login_required
def template_list_page(request: HttpRequest) -> HttpResponse:
    try:
        custom = {t.kind: t for t in selectors.mail_template_list(user=_user(request))}
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    rows = [{"kind": kind, "description": text, "custom": custom.get(kind)} for kind, text in KINDS.items()]
    return render(request, "notifications/mail_templates.html", {"nav": "templates", "rows": rows, "variables": VARIABLES})


def _preview(form: TemplateForm) -> RenderedMail | None:
    """The form's (unsaved) template rendered for its ticket or the sample; None with errors."""
    data = form.cleaned_data
    number = data.get("ticket")
    context: dict[str, Any] = sample_context()
    if number:
        ticket = Ticket.objects.select_related("requester").filter(pk=number).first()
        if ticket is None:
            form.add_error("ticket", f"There is no ticket #{number}.")
            return None
        reply = Message.objects.filter(ticket=ticket, author_user__isnull=False, visibility="public").order_by("-pk").first()
        context = {**context, **mail_context(ticket=ticket, message=reply)}
    return render_draft(subject=data["subject"], body_text=data["body_text"], body_html=data["body_html"], context=context)


@login_required
def template_edit(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in KINDS:
        raise Http404("No such e-mail template.")
    user = _user(request)
    try:
        custom = selectors.mail_template_list(user=user).filter(kind=kind).first()
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    preview: RenderedMail | None = None
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            parts = {"subject": data["subject"], "body_text": data["body_text"], "body_html": data["body_html"]}
            try:
                if request.POST.get("action") == "save":
                    services.mail_template_save(kind=kind, actor=user, **parts)
                    messages.success(request, f"Template {kind} saved: the next e-mails of this kind use it.")
                    return redirect("mail-template-edit", kind=kind)
                errors = template_problems(kind=kind, **parts)
                if errors:
                    raise ValidationFailed(errors)
                preview = _preview(form)
            except ValidationFailed as exc:
                for field, text in exc.errors.items():
                    form.add_error(field if field in form.fields else None, text)
    else:
        subject, body_text, body_html = (custom.subject, custom.body_text, custom.body_html) if custom else shipped_sources(kind)
        form = TemplateForm(initial={"subject": subject, "body_text": body_text, "body_html": body_html})
    context = {
        "nav": "templates",
        "kind": kind,
        "description": KINDS[kind],
        "custom": custom,
        "form": form,
        "preview": preview,
        "variables": VARIABLES,
    }
    return render(request, "notifications/mail_template_form.html", context, status=422 if form.errors else 200)


@login_required
@require_POST
def template_reset(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in KINDS:
        raise Http404("No such e-mail template.")
    try:
        selectors.mail_template_list(user=_user(request))
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    services.mail_template_reset(kind=kind)
    messages.success(request, f"Template {kind} is the shipped one again.")
    return redirect("mail-template-edit", kind=kind)
