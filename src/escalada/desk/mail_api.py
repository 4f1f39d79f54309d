"""Received mail for admins: what was quarantined or ignored and why; re-process; raw download."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema

from escalada.base.pagination import paginate_by_id
from escalada.base.schemas import ErrorOut
from escalada.desk.mail import mail_reprocess
from escalada.notifications import selectors
from escalada.notifications.models import InboundMail, InboundState

router = Router(tags=["inbound mail"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class InboundOut(Schema):
    id: int
    source: str
    envelope_from: str
    header_message_id: str
    state: str
    reason: str
    ticket_id: int | None
    message_id: int | None
    received_at: datetime
    processed_at: datetime | None


class InboundPage(Schema):
    items: list[InboundOut]
    next_cursor: str | None


class InboundQuery(Schema):
    state: list[InboundState] | None = None
    cursor: str | None = None
    limit: int = 50


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@router.get("/inbound-mail", response={200: InboundPage, **ERRORS}, summary="Received e-mail")
def inbound_list(request: HttpRequest, params: Query[InboundQuery]) -> dict[str, object]:
    """Newest first; `?state=quarantined` for what could not become a ticket, with the reason. Admins only."""
    mails = selectors.inbound_list(user=_user(request), states=[s.value for s in params.state or []])
    page = paginate_by_id(mails, cursor=params.cursor, limit=params.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/inbound-mail/{id:inbound_id}/raw", response={200: None, **ERRORS}, summary="The mail as received")
def inbound_raw(request: HttpRequest, inbound_id: int) -> HttpResponse:
    inbound = selectors.inbound_get(user=_user(request), inbound_id=inbound_id)
    response = HttpResponse(bytes(inbound.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="inbound-{inbound.pk}.eml"'
    return response


@router.post(
    "/inbound-mail/{id:inbound_id}/reprocess", response={200: InboundOut, **ERRORS}, summary="Try a quarantined mail again"
)
def inbound_reprocess(request: HttpRequest, inbound_id: int) -> InboundMail:
    """409 when it became a ticket or a reply already."""
    return mail_reprocess(inbound=selectors.inbound_get(user=_user(request), inbound_id=inbound_id))
