"""Inbound e-mail, from raw bytes to a ticket or a reply.

`mail_receive` stores the raw message first and commits — nothing a customer sent is lost, even
if everything after fails. `mail_process` then reads it (`notifications.inbound.parse_mail`) and,
in one transaction, either opens a ticket, adds the customer's reply to the ticket it answers, or
marks it ignored (auto-replies, bounces, list mail, duplicates: they never create tickets nor
trigger replies, so no mail loops) or quarantined with the reason, for an admin to re-process.

Threading: a mail joins a ticket when it answers one of our Message-IDs, one of the ticket's
stored message ids, or carries the ticket's `[#123]` subject token — and only when its sender is
the requester or from the requester's organization (else a stranger could write into any
ticket by guessing a number); otherwise it opens a new ticket. A reply to a closed ticket opens a
follow-up ticket, and so does a reply to a ticket solved longer ago than its policy's reopen window.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from escalada.base.errors import Conflict, ServiceError
from escalada.customers.models import Contact
from escalada.customers.services import contact_find_or_create
from escalada.desk import escalate as escalating
from escalada.desk import verbs
from escalada.escalations import records
from escalada.notifications.inbound import MailProblem, ParsedMail, parse_mail
from escalada.notifications.models import InboundMail, InboundState
from escalada.tickets.models import Attachment, Channel, Message, Ticket

logger = logging.getLogger("escalada.mail")


def mail_receive(*, raw: bytes, source: str, envelope_from: str = "", envelope_to: list[str] | None = None) -> InboundMail:
    """Store a received mail as it came, in its own committed transaction."""
    with transaction.atomic():
        return InboundMail.objects.create(
            raw=raw,
            source=source,
            envelope_from=envelope_from[:998],
            envelope_to=[address[:998] for address in (envelope_to or [])][:100],
            received_at=timezone.now(),
        )


def _settle(
    inbound: InboundMail, *, state: str, reason: str = "", ticket: Ticket | None = None, message: Message | None = None
) -> None:
    inbound.state = state
    inbound.reason = reason
    inbound.ticket = ticket
    inbound.message = message
    inbound.processed_at = timezone.now()
    inbound.save(update_fields=["state", "reason", "ticket", "message", "processed_at", "header_message_id"])


def _target_ticket(mail: ParsedMail, contact: Contact) -> Ticket | None:
    """The ticket this mail answers, if its sender may write into it."""
    candidates: list[Ticket] = []
    if mail.references:
        known = Message.objects.filter(external_message_id__in=mail.references[:50]).select_related("ticket").first()
        if known is not None:
            candidates.append(known.ticket)
    numbers = mail.ticket_numbers
    if numbers:
        candidates += list(Ticket.objects.filter(number__in=numbers[:10]))
    for ticket in candidates:
        same_person = ticket.requester_id == contact.pk
        same_org = contact.organization_id is not None and ticket.organization_id == contact.organization_id
        if same_person or same_org:
            return ticket
    return None


def _attach(message: Message, mail: ParsedMail, at: datetime) -> None:
    Attachment.objects.bulk_create(
        Attachment(
            message=message,
            filename=item.filename,
            content_type=item.content_type,
            size=len(item.content),
            content=item.content,
            created_at=at,
        )
        for item in mail.attachments
    )


def mail_process(*, inbound: InboundMail) -> InboundMail:
    """Turn a stored mail into a ticket or a reply; ignore or quarantine it with the reason."""
    try:
        mail = parse_mail(bytes(inbound.raw))
    except MailProblem as problem:
        _settle(inbound, state=InboundState.QUARANTINED, reason=problem.reason)
        return inbound
    inbound.header_message_id = (mail.message_id or "")[:998]
    if mail.automated:
        _settle(inbound, state=InboundState.IGNORED, reason=f"Written by a machine ({mail.automated}): no ticket, no reply.")
        return inbound
    if mail.message_id and Message.objects.filter(external_message_id=mail.message_id).exists():
        _settle(inbound, state=InboundState.IGNORED, reason=f"Already received: {mail.message_id} is on a ticket.")
        return inbound
    try:
        with transaction.atomic():
            ticket, message = _apply(mail)
    except ServiceError as exc:
        errors = getattr(exc, "errors", {})
        detail = "; ".join(f"{field}: {text}" for field, text in errors.items()) or exc.message
        _settle(inbound, state=InboundState.QUARANTINED, reason=f"Refused: {detail}")
        return inbound
    note = "; ".join(mail.skipped)
    _settle(inbound, state=InboundState.PROCESSED, reason=note, ticket=ticket, message=message)
    return inbound


def _apply(mail: ParsedMail) -> tuple[Ticket, Message]:
    at = timezone.now()
    contact = contact_find_or_create(email=mail.from_address, name=mail.from_name, actor=None)
    ticket = _target_ticket(mail, contact)
    if ticket is not None and not verbs.reopen_window_passed(ticket=ticket, now=at):
        message = verbs.ticket_reply(
            ticket=ticket,
            actor=None,
            author_contact=contact,
            body=mail.body_text,
            channel=Channel.EMAIL,
            external_message_id=mail.message_id,
            now=at,
        )
        _attach(message, mail, at)
        _keyword_request(message.ticket, mail, at)
        return message.ticket, message
    if ticket is not None:  # closed, or solved before the reopen window: a follow-up, linked
        opened = verbs.ticket_follow_up(
            ticket=ticket,
            body=mail.body_text,
            author_contact=contact,
            channel=Channel.EMAIL,
            actor=None,
            external_message_id=mail.message_id,
            now=at,
        )
    else:
        opened = verbs.ticket_open(
            subject=mail.subject or "(no subject)",
            description=mail.body_text,
            requester=contact,
            channel=Channel.EMAIL,
            actor=None,
            external_message_id=mail.message_id,
            now=at,
        )
    first = Message.objects.filter(ticket=opened).order_by("pk").first()
    assert first is not None
    _attach(first, mail, at)
    _keyword_request(opened, mail, at)
    return opened, first


def _keyword_request(ticket: Ticket, mail: ParsedMail, at: datetime) -> None:
    """A customer asks for an escalation by e-mail with the keyword (ESCALADA_ESCALATE_KEYWORD)."""
    reason = escalating.keyword_request_text(mail.body_text, settings.ESCALADA_ESCALATE_KEYWORD)
    if reason is None or records.escalation_active_for(ticket=ticket) is not None:
        return
    request = escalating.EscalateRequest(
        reason="customer-request", reason_text=reason, handoff_note=f"The customer asked by e-mail: {reason}"
    )
    escalating.escalate_quietly(ticket=ticket, request=request, type="customer_requested", now=at)


def mail_receive_and_process(
    *, raw: bytes, source: str, envelope_from: str = "", envelope_to: list[str] | None = None
) -> InboundMail:
    """Store, then process. Raises only when storing failed (the sender should retry)."""
    inbound = mail_receive(raw=raw, source=source, envelope_from=envelope_from, envelope_to=envelope_to)
    return _process_or_quarantine(inbound)


def _process_or_quarantine(inbound: InboundMail) -> InboundMail:
    try:
        return mail_process(inbound=inbound)
    except Exception:  # stored already; an admin re-processes it from the quarantine
        logger.exception("inbound mail %s could not be processed", inbound.pk)
        InboundMail.objects.filter(pk=inbound.pk).update(
            state=InboundState.QUARANTINED, reason="Processing failed unexpectedly; see the log. Re-process it once fixed."
        )
        inbound.refresh_from_db()
        return inbound


PENDING_GRACE = timedelta(minutes=1)


def mail_process_pending(*, now: datetime, limit: int = 20) -> int:
    """The worker's sweep for mail stored but never processed (the listener died in between):
    anything still `received` a minute after it arrived."""
    pending = list(
        InboundMail.objects.filter(state=InboundState.RECEIVED, received_at__lte=now - PENDING_GRACE)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for pk in pending:
        inbound = InboundMail.objects.filter(pk=pk, state=InboundState.RECEIVED).first()
        if inbound is None:
            continue  # processed meanwhile
        _process_or_quarantine(inbound)
        done += 1
    return done


@transaction.atomic
def mail_reprocess(*, inbound: InboundMail) -> InboundMail:
    """Try a quarantined mail again, e.g. after the fix for what stopped it."""
    inbound = InboundMail.objects.select_for_update().get(pk=inbound.pk)
    if inbound.state == InboundState.PROCESSED:
        raise Conflict("This mail became a ticket or a reply already.")
    return mail_process(inbound=inbound)
