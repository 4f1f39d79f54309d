"""Customer e-mail templates for admins: see, change, preview, reset. Variables are listed in
`escalada.notifications.mail_templates` and docs/notifications.md."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status

from escalada.accounts.models import Role
from escalada.accounts.selectors import user_role
from escalada.base.errors import NotFound, PermissionDenied, ValidationFailed
from escalada.base.schemas import DbId, ErrorOut, StrictSchema
from escalada.notifications import services
from escalada.notifications.mail_templates import KINDS, mail_context, render_mail, template_problems
from escalada.notifications.models import MailTemplate
from escalada.tickets.models import Message, Ticket

router = Router(tags=["mail templates"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class TemplateIn(StrictSchema):
    subject: str
    body_text: str
    body_html: str = ""


class TemplateOut(Schema):
    kind: str
    description: str
    is_custom: bool
    subject: str
    body_text: str
    body_html: str


class PreviewIn(TemplateIn):
    ticket_id: DbId


class PreviewOut(Schema):
    subject: str
    body_text: str
    body_html: str


def _admin(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    if user_role(user=user) != Role.ADMIN:
        raise PermissionDenied("Only admins change e-mail templates.")
    return user


def _out(kind: str) -> dict[str, Any]:
    custom = MailTemplate.objects.filter(kind=kind).first()
    return {
        "kind": kind,
        "description": KINDS[kind],
        "is_custom": custom is not None,
        "subject": custom.subject if custom else "",
        "body_text": custom.body_text if custom else "",
        "body_html": custom.body_html if custom else "",
    }


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"There is no template {kind!r}; they are {', '.join(KINDS)}.")
    return kind


@router.get("/mail-templates", response={200: list[TemplateOut], **ERRORS}, summary="Customer e-mail templates")
def template_list(request: HttpRequest) -> list[dict[str, Any]]:
    """`is_custom` false: the shipped template is used (its text is empty here)."""
    _admin(request)
    return [_out(kind) for kind in KINDS]


@router.put("/mail-templates/{kind}", response={200: TemplateOut, **ERRORS}, summary="Change a template")
def template_put(request: HttpRequest, kind: str, payload: TemplateIn) -> dict[str, Any]:
    user = _admin(request)
    _kind(kind)
    services.mail_template_save(kind=kind, actor=user, **payload.model_dump())
    return _out(kind)


@router.delete("/mail-templates/{kind}", response={204: None, **ERRORS}, summary="Back to the shipped template")
def template_reset(request: HttpRequest, kind: str) -> Status[None]:
    _admin(request)
    services.mail_template_reset(kind=_kind(kind))
    return Status(204, None)


@router.post("/mail-templates/{kind}/preview", response={200: PreviewOut, **ERRORS}, summary="Render a template for a ticket")
def template_preview(request: HttpRequest, kind: str, payload: PreviewIn) -> dict[str, str]:
    """Renders the given (unsaved) template for a ticket, with its latest agent reply as `message`."""
    _admin(request)
    _kind(kind)
    errors = template_problems(kind=kind, subject=payload.subject, body_text=payload.body_text, body_html=payload.body_html)
    if errors:
        raise ValidationFailed(errors)
    ticket = Ticket.objects.select_related("requester").filter(pk=payload.ticket_id).first()
    if ticket is None:
        raise ValidationFailed.one("ticket_id", f"There is no ticket {payload.ticket_id}.")
    message = Message.objects.filter(ticket=ticket, author_user__isnull=False, visibility="public").order_by("-pk").first()
    with transaction.atomic():
        # Rendered through the same path as real mail, from a template saved and rolled back.
        MailTemplate.objects.update_or_create(
            kind=kind,
            defaults={
                "subject": payload.subject,
                "body_text": payload.body_text,
                "body_html": payload.body_html,
                "updated_at": timezone.now(),
            },
        )
        rendered = render_mail(kind, mail_context(ticket=ticket, message=message))
        transaction.set_rollback(True)
    return {"subject": rendered.subject, "body_text": rendered.body_text, "body_html": rendered.body_html}
