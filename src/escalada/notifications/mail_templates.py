"""Customer e-mail templates: shipped as files, overridable by admins, with plain variables.

Templates see plain values, never database rows, so an edited template cannot reach fields it
should not (a password hash, another customer's address):

| variable | value |
|---|---|
| `ticket.number`, `ticket.subject`, `ticket.status`, `ticket.priority` | the ticket |
| `ticket.url` | the ticket's page in Escalada (agents and the customer portal) |
| `requester.name`, `requester.email` | who asked |
| `message.text`, `message.html`, `message.author` | the agent's reply (agent_reply only) |
| `resolution.summary` | the escalation's root cause in customer words (ticket_solved, when an escalation was resolved) |
| `reopen_url` | a link that reopens the ticket (ticket_solved; signed, good for one reopen within the reopen window) |
| `token` | the subject token `[#123]` that threads replies |
| `support_address` | the address replies go to |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template import TemplateSyntaxError, engines
from django.template.loader import get_template, render_to_string

from escalada.notifications.batching import memo
from escalada.notifications.models import MailTemplate
from escalada.tickets.models import Message, Ticket

KINDS = {
    "ticket_received": "We have your request (sent when a ticket is opened)",
    "agent_reply": "An agent's public reply",
    "ticket_solved": "Solved, and how to reopen",
    "ticket_escalated": "A specialist team has the request (sent by an escalation ladder level)",
}


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    body_text: str
    body_html: str


def mail_context(*, ticket: Ticket, message: Message | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "ticket": {
            "number": ticket.number,
            "subject": ticket.subject,
            "status": ticket.get_status_display(),
            "priority": ticket.get_priority_display(),
            "url": f"{settings.BASE_URL.rstrip('/')}/tickets/{ticket.pk}/",
        },
        "requester": {"name": ticket.requester.name, "email": ticket.requester.email},
        "token": f"[#{ticket.number}]",
        "support_address": settings.DEFAULT_FROM_EMAIL,
    }
    if message is not None:
        author = message.author_user
        context["message"] = {
            "text": message.body_text,
            "html": message.body_html,
            "author": (author.get_full_name() or author.username) if author is not None else "Support",
        }
    return context


def _from_string(source: str, context: dict[str, Any], *, is_html: bool) -> str:
    wrapped = source if is_html else "{% autoescape off %}" + source + "{% endautoescape %}"
    return str(engines["django"].from_string(wrapped).render(context))


def render_draft(*, subject: str, body_text: str, body_html: str, context: dict[str, Any]) -> RenderedMail:
    """A template's parts rendered as real mail renders an admin's version (check them with
    `template_problems` first): what the preview shows, without saving anything."""
    html = _from_string(body_html, context, is_html=True) if body_html.strip() else ""
    return RenderedMail(
        subject=" ".join(_from_string(subject, context, is_html=False).split()),
        body_text=_from_string(body_text, context, is_html=False),
        body_html=html,
    )


def shipped_sources(kind: str) -> tuple[str, str, str]:
    """The shipped template's subject, text and HTML sources: where an admin's first edit starts."""
    parts = []
    for suffix in (".subject.txt", ".txt", ".html"):
        template = get_template(f"notifications/email/{kind}{suffix}")
        parts.append(str(template.template.source))  # type: ignore[attr-defined]
    return parts[0].strip(), parts[1], parts[2]


def sample_context() -> dict[str, Any]:
    """The variables of a made-up ticket (DESIGN.md's Ana at Northwind), for previews before any
    real ticket exists."""
    base = settings.BASE_URL.rstrip("/")
    return {
        "ticket": {
            "number": 1042,
            "subject": "My account balance is wrong since the last invoice",
            "status": "Open",
            "priority": "High",
            "url": f"{base}/tickets/1042/",
        },
        "requester": {"name": "Ana Lima", "email": "ana@northwind.example"},
        "message": {
            "text": "We found a rounding defect in the invoice totals; a credit note is on its way.",
            "html": "<p>We found a rounding defect in the invoice totals; a credit note is on its way.</p>",
            "author": "Sam Carter",
        },
        "resolution": {"summary": "A rounding defect in invoice totals; we credited the difference and fixed the rounding."},
        "reopen_url": f"{base}/support/reopen/sample",
        "token": "[#1042]",
        "support_address": settings.DEFAULT_FROM_EMAIL,
    }


def render_mail(kind: str, context: dict[str, Any]) -> RenderedMail:
    custom = memo(("mail_template", kind), lambda: MailTemplate.objects.filter(kind=kind).first())
    if custom is not None:
        return render_draft(subject=custom.subject, body_text=custom.body_text, body_html=custom.body_html, context=context)
    subject = render_to_string(f"notifications/email/{kind}.subject.txt", context)
    text = render_to_string(f"notifications/email/{kind}.txt", context)
    html = render_to_string(f"notifications/email/{kind}.html", context)
    return RenderedMail(subject=" ".join(subject.split()), body_text=text, body_html=html)


def template_problems(*, kind: str, subject: str, body_text: str, body_html: str) -> dict[str, str]:
    """What is wrong with an admin's template, by field: unknown kind, bad syntax, empty text."""
    if kind not in KINDS:
        return {"kind": f"Templates exist for {', '.join(KINDS)}."}
    errors: dict[str, str] = {}
    if "\r" in subject or "\n" in subject:
        errors["subject"] = "A subject is one line."
    for field, source in (("subject", subject), ("body_text", body_text), ("body_html", body_html)):
        if field != "body_html" and not source.strip():
            errors[field] = "This part cannot be empty."
            continue
        try:
            engines["django"].from_string(source)
        except TemplateSyntaxError as exc:
            errors[field] = f"Template syntax error: {exc}"
    return errors
