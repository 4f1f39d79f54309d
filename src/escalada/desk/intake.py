"""`POST /api/v1/intake/{channel}`: tickets from chat, phone, social and other systems.

Two ways in: an agent's or an integration user's API token, or — for systems that cannot hold a
user's token, like a chat or social webhook — an HMAC signature with a shared secret: one made in
Settings → Channels (several may be active, for rotation) or `ESCALADA_INTAKE_SECRET`:

    X-Escalada-Timestamp: <unix seconds>
    X-Escalada-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">

A signature older or newer than five minutes is refused (no replays). `external_id` makes the
call idempotent: the same id on the same channel returns the ticket it made the first time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.security import APIKeyHeader

from escalada.accounts.auth import ApiTokenAuth
from escalada.accounts.selectors import is_staff_role, user_role
from escalada.base.errors import PermissionDenied, ValidationFailed
from escalada.base.schemas import ErrorOut, StrictSchema
from escalada.customers.services import contact_find_or_create, email_problem
from escalada.desk import verbs
from escalada.desk.schemas import TicketDetailOut
from escalada.notifications.channels import intake_secret_used, intake_secrets_active
from escalada.tickets import selectors, services
from escalada.tickets.models import Message, Priority, Ticket

router = Router(tags=["intake"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut}
CHANNELS = ("chat", "phone", "social", "web", "api")
SIGNATURE_WINDOW_SECONDS = 300
SIGNED = "intake-signature"


class IntakeSignatureAuth(APIKeyHeader):
    param_name = "X-Escalada-Signature"

    def authenticate(self, request: HttpRequest, key: str | None) -> str | None:
        stamp = request.headers.get("X-Escalada-Timestamp", "")
        if not key or not key.startswith("sha256=") or not stamp.isdigit():
            return None
        if abs(time.time() - int(stamp)) > SIGNATURE_WINDOW_SECONDS:
            return None
        given = key.removeprefix("sha256=")
        if not given.isascii():
            return None
        for secret_id, secret in intake_secrets_active():
            expected = hmac.new(secret.encode(), stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, given):
                if secret_id is not None:
                    intake_secret_used(secret_id=secret_id, now=timezone.now())
                return SIGNED
        return None


class IntakeIn(StrictSchema):
    requester_email: str
    requester_name: str = ""
    subject: str
    description: str
    external_id: str | None = Field(
        default=None, max_length=200, description="The sender's id for this conversation: repeats return the same ticket"
    )
    priority: Priority = Priority.NORMAL
    category: str | None = None


class IntakeOut(Schema):
    ticket: TicketDetailOut
    is_new: bool


def _actor(request: HttpRequest) -> User | None:
    if request.auth == SIGNED:  # type: ignore[attr-defined]
        return None
    user = request.user
    assert isinstance(user, User)
    if not is_staff_role(user_role(user=user)):
        raise PermissionDenied("Intake is for agents' and integrations' tokens; customers open tickets at /api/v1/tickets.")
    return user


@router.post(
    "/intake/{channel}",
    response={200: IntakeOut, 201: IntakeOut, **ERRORS},
    auth=[ApiTokenAuth(), IntakeSignatureAuth()],
    summary="A ticket from chat, phone, social or another system",
)
def intake(request: HttpRequest, channel: str, payload: IntakeIn) -> Status[dict[str, Any]]:
    actor = _actor(request)
    errors: dict[str, str] = {}
    if channel not in CHANNELS:
        errors["channel"] = f"Channel is one of {', '.join(CHANNELS)}; e-mail comes in by SMTP."
    problem = email_problem(payload.requester_email)
    if problem:
        errors["requester_email"] = problem
    if "\r" in payload.requester_name or "\n" in payload.requester_name:
        errors["requester_name"] = "A name is one line: line breaks are not allowed (they would break e-mail headers)."
    category = None
    try:
        category = selectors.category_by_slug(payload.category)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    errors.update(
        services.ticket_create_problems(
            subject=payload.subject,
            description=payload.description,
            description_html=None,
            channel=channel if channel in CHANNELS else "api",
            priority=payload.priority,
            severity="sev3",
            team=None,
            assignee=None,
            tags=None,
        )
    )
    if errors:
        raise ValidationFailed(errors)
    external = f"intake:{channel}:{payload.external_id}" if payload.external_id else None
    with transaction.atomic():
        if external:
            known = Message.objects.filter(external_message_id=external).select_related("ticket").first()
            if known is not None:
                return Status(200, {"ticket": selectors.ticket_for_output(ticket_id=known.ticket_id), "is_new": False})
        requester = contact_find_or_create(email=payload.requester_email, name=payload.requester_name, actor=actor)
        ticket: Ticket = verbs.ticket_open(
            subject=payload.subject,
            description=payload.description,
            requester=requester,
            channel=channel,
            actor=actor,
            priority=payload.priority,
            category=category,
            external_message_id=external,
        )
    return Status(201, {"ticket": selectors.ticket_for_output(ticket_id=ticket.pk), "is_new": True})
