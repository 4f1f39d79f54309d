"""Inbound e-mail: real SMTP to our listener, threading, loops, quarantine, hostile mail."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from escalada.desk import verbs
from escalada.desk.mail import mail_receive_and_process, mail_reprocess
from escalada.mail_listener import smtp_controller
from escalada.notifications import delivery
from escalada.notifications.models import InboundMail, InboundState, OutboxMessage
from escalada.tickets.models import Attachment, Message, Ticket
from tests.app.conftest import World
from tests.app.notifications.sinks import SmtpSink, free_port, smtp_sink


def mail(
    *,
    sender: str = "Ana Lima <ana@northwind.example>",
    subject: str = "My balance is wrong",
    body: str = "Since the last invoice my balance is wrong.",
    message_id: str = "<m1@mail.northwind.example>",
    **headers: str,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@escalada.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


@pytest.fixture
def listener() -> Iterator[int]:
    port = free_port()
    controller = smtp_controller(host="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def outgoing(settings: Any) -> Iterator[SmtpSink]:
    for sink in smtp_sink():
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = sink.port
        settings.DEFAULT_FROM_EMAIL = "support@escalada.example"
        yield sink


@pytest.mark.django_db(transaction=True)
def test_a_customer_mail_over_smtp_opens_a_ticket_and_the_reply_threads_onto_it(
    world: World, listener: int, outgoing: SmtpSink
) -> None:
    with smtplib.SMTP("127.0.0.1", listener, timeout=30) as client:
        client.sendmail("ana@northwind.example", ["support@escalada.example"], mail())
    inbound = InboundMail.objects.get()
    assert (inbound.state, inbound.source, inbound.envelope_from) == (InboundState.PROCESSED, "smtp", "ana@northwind.example")
    ticket = inbound.ticket
    assert ticket is not None
    assert (ticket.channel, ticket.subject, ticket.requester_id, ticket.organization_id) == (
        "email",
        "My balance is wrong",
        world.ana.pk,
        world.northwind.pk,
    )
    assert Message.objects.get(ticket=ticket).external_message_id == "<m1@mail.northwind.example>"

    # Our acknowledgement goes out over real SMTP; Ana answers it from her mail client.
    from django.utils import timezone

    delivery.outbox_deliver_due(now=timezone.now())
    (ack,) = outgoing.messages
    assert ack["In-Reply-To"] == "<m1@mail.northwind.example>"
    ack_text = ack.get_body(preferencelist=("plain",))
    assert ack_text is not None
    answer = mail(
        subject=f"Re: {ack['Subject']}",
        body=f"Here is the invoice number: 4711.\n\nOn Mon, 23 Nov 2026 at 10:00, Support <support@escalada.example> wrote:\n> {ack_text.get_content()[:40]}",
        message_id="<m2@mail.northwind.example>",
        In_Reply_To=ack["Message-ID"],
        References=f"{ack['References']} {ack['Message-ID']}",
    )
    with smtplib.SMTP("127.0.0.1", listener, timeout=30) as client:
        client.sendmail("ana@northwind.example", ["support@escalada.example"], answer)
    assert Ticket.objects.count() == 3  # the world's two and Ana's
    thread = list(Message.objects.filter(ticket=ticket).order_by("pk").values_list("body_text", "external_message_id"))
    assert thread == [
        ("Since the last invoice my balance is wrong.", "<m1@mail.northwind.example>"),
        ("Here is the invoice number: 4711.", "<m2@mail.northwind.example>"),
    ]


@pytest.mark.django_db
def test_auto_replies_and_bounces_never_make_tickets_nor_replies(world: World) -> None:
    cases = {
        "auto-replied": mail(Auto_Submitted="auto-replied", message_id="<a1@x>"),
        "bulk": mail(Precedence="bulk", message_id="<a2@x>"),
        "autoreply header": mail(X_Autoreply="yes", message_id="<a3@x>"),
        "mailer-daemon": mail(sender="MAILER-DAEMON@mail.example", message_id="<a4@x>"),
        "list": mail(List_Id="<news.example>", message_id="<a5@x>"),
    }
    outbox_before = OutboxMessage.objects.count()
    reasons = {}
    for name, raw in cases.items():
        inbound = mail_receive_and_process(raw=raw, source="smtp")
        assert inbound.state == InboundState.IGNORED, name
        reasons[name] = inbound.reason
    assert reasons == {
        "auto-replied": "Written by a machine (Auto-Submitted: auto-replied): no ticket, no reply.",
        "bulk": "Written by a machine (Precedence: bulk): no ticket, no reply.",
        "autoreply header": "Written by a machine (X-Autoreply: yes): no ticket, no reply.",
        "mailer-daemon": "Written by a machine (sent by mailer-daemon@mail.example): no ticket, no reply.",
        "list": "Written by a machine (a mailing-list message): no ticket, no reply.",
    }
    assert Ticket.objects.count() == 2
    assert OutboxMessage.objects.count() == outbox_before  # nothing answers a machine: no loop


@pytest.mark.django_db
def test_the_same_mail_twice_is_one_ticket(world: World) -> None:
    first = mail_receive_and_process(raw=mail(), source="smtp")
    second = mail_receive_and_process(raw=mail(), source="imap")
    assert (first.state, second.state) == (InboundState.PROCESSED, InboundState.IGNORED)
    assert second.reason == "Already received: <m1@mail.northwind.example> is on a ticket."
    assert InboundMail.objects.count() == 2  # both stored


@pytest.mark.django_db
def test_a_stranger_cannot_write_into_another_organizations_ticket(world: World) -> None:
    token = f"[#{world.ticket_b.number}]"  # Contoso's ticket
    inbound = mail_receive_and_process(raw=mail(subject=f"Re: {token} Refund missing", message_id="<s1@x>"), source="smtp")
    assert inbound.ticket is not None
    assert inbound.ticket.pk not in (world.ticket_a.pk, world.ticket_b.pk)  # a new ticket of Ana's
    assert Message.objects.filter(ticket=world.ticket_b).count() == 1


@pytest.mark.django_db
def test_a_reply_to_a_closed_ticket_opens_a_follow_up(world: World) -> None:
    ticket = world.ticket_a
    verbs.ticket_change_status(ticket=ticket, status="solved", actor=world.sam.user)
    verbs.ticket_change_status(ticket=ticket, status="closed", actor=world.sam.user)
    inbound = mail_receive_and_process(
        raw=mail(subject=f"Re: [#{ticket.number}] Balance wrong", message_id="<c1@x>"), source="smtp"
    )
    assert inbound.ticket is not None
    assert inbound.ticket.subject == f"Follow-up to #{ticket.number}: Balance wrong"


@pytest.mark.django_db
def test_a_reply_to_a_solved_ticket_reopens_it(world: World) -> None:
    ticket = world.ticket_a
    verbs.ticket_change_status(ticket=ticket, status="solved", actor=world.sam.user)
    inbound = mail_receive_and_process(
        raw=mail(subject=f"Re: [#{ticket.number}] Balance wrong", message_id="<r1@x>"), source="smtp"
    )
    ticket.refresh_from_db()
    assert (inbound.ticket, ticket.status, ticket.reopen_count) == (ticket, "open", 1)


@pytest.mark.django_db
def test_attachments_are_kept_within_the_limit(world: World) -> None:
    message = EmailMessage()
    message["From"] = "ana@northwind.example"
    message["Subject"] = "Invoice attached"
    message["Message-ID"] = "<att@x>"
    message.set_content("See attached.")
    message.add_attachment(b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="invoice.pdf")
    message.add_attachment(b"x" * (11 * 1024 * 1024), maintype="application", subtype="octet-stream", filename="huge.bin")
    inbound = mail_receive_and_process(raw=bytes(message), source="smtp")
    assert inbound.state == InboundState.PROCESSED
    assert inbound.reason == "huge.bin (11264 KiB) is over the attachment size limit"
    (kept,) = Attachment.objects.all()
    assert (kept.filename, kept.content_type, kept.size, bytes(kept.content)) == (
        "invoice.pdf",
        "application/pdf",
        16,
        b"%PDF-1.4 invoice",
    )


HOSTILE = {
    "no sender": b"Subject: hi\r\n\r\nbody",
    "garbage": b"\x00\xff\xfe not a mail at all \x00",
    "empty": b"",
    "huge header": b"From: ana@northwind.example\r\nX-Pad: " + b"a" * (300 * 1024) + b"\r\n\r\nbody",
    "broken boundary": (
        b'From: ana@northwind.example\r\nMessage-ID: <b1@x>\r\nContent-Type: multipart/mixed; boundary="zzz"\r\n\r\n'
        b"--zzz\r\nContent-Type: text/plain\r\n\r\nhello\r\n--zz"
    ),
    "bad charset": (
        b"From: ana@northwind.example\r\nMessage-ID: <b2@x>\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nQapla\xff\xfe"
    ),
    "bad base64": (
        b"From: ana@northwind.example\r\nMessage-ID: <b3@x>\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!"
    ),
    "bad encoded word": b"From: =?utf-8?q?=FF=FE?= <ana@northwind.example>\r\nSubject: =?x-unknown?b?////?=\r\nMessage-ID: <b4@x>\r\n\r\nbody",
    "deep nesting": b"From: ana@northwind.example\r\nMessage-ID: <b5@x>\r\n"
    + b"".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode() for i in range(60))
    + b"Content-Type: text/plain\r\n\r\ndeep\r\n",
    "many parts": b'From: ana@northwind.example\r\nMessage-ID: <b6@x>\r\nContent-Type: multipart/mixed; boundary="p"\r\n\r\n'
    + b"".join(b"--p\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(500))
    + b"--p--\r\n",
    "html only with script": (
        b"From: ana@northwind.example\r\nMessage-ID: <b7@x>\r\nContent-Type: text/html\r\n\r\n"
        b"<p>Hello<script>alert(1)</script></p><p>World</p>"
    ),
    "sender with newline": b'From: "Eve\r\n Bcc: x" <eve@example.com>\r\nMessage-ID: <b8@x>\r\n\r\nbody',
    "auto-reply loop": mail(Auto_Submitted="auto-replied", subject="Out of office: Re: [#1] Balance wrong", message_id="<b9@x>"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_mail_is_a_ticket_or_set_aside_with_a_reason(world: World, name: str) -> None:
    inbound = mail_receive_and_process(raw=HOSTILE[name], source="smtp")
    assert bytes(InboundMail.objects.get(pk=inbound.pk).raw) == HOSTILE[name]  # kept as received
    assert inbound.state in (InboundState.PROCESSED, InboundState.QUARANTINED, InboundState.IGNORED)
    if inbound.state == InboundState.PROCESSED:
        assert inbound.ticket is not None
    else:
        assert inbound.reason


@pytest.mark.django_db
def test_hostile_outcomes(world: World) -> None:
    outcomes = {name: mail_receive_and_process(raw=raw, source="smtp") for name, raw in HOSTILE.items()}
    assert {name: o.state for name, o in outcomes.items()} == {
        "no sender": "quarantined",
        "garbage": "quarantined",
        "empty": "quarantined",
        "huge header": "quarantined",
        "broken boundary": "processed",
        "bad charset": "processed",
        "bad base64": "processed",
        "bad encoded word": "processed",
        "deep nesting": "quarantined",
        "many parts": "quarantined",
        "html only with script": "processed",
        "sender with newline": "processed",
        "auto-reply loop": "ignored",
    }
    assert outcomes["huge header"].reason == "The header block is larger than 256 KiB."
    assert outcomes["many parts"].reason == "The message has more than 200 parts."
    script = outcomes["html only with script"].message
    assert script is not None
    assert script.body_text == "Hello\nWorld"
    eve = outcomes["sender with newline"].ticket
    assert eve is not None
    assert eve.requester.name == "Eve Bcc: x"  # folded onto one line, never a header


@pytest.mark.django_db
def test_a_quarantined_mail_is_reprocessed(world: World) -> None:
    inbound = mail_receive_and_process(raw=b"Subject: hi\r\n\r\nbody", source="smtp")
    assert inbound.state == InboundState.QUARANTINED
    InboundMail.objects.filter(pk=inbound.pk).update(raw=mail(message_id="<fixed@x>"))  # e.g. an admin's fix
    again = mail_reprocess(inbound=inbound)
    assert (again.state, again.ticket is not None) == (InboundState.PROCESSED, True)


@pytest.mark.django_db
def test_the_worker_processes_mail_a_dead_listener_left_behind(world: World) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from escalada.desk.mail import mail_process_pending, mail_receive

    stored = mail_receive(raw=mail(message_id="<left@x>"), source="smtp")  # the listener died here
    assert mail_process_pending(now=timezone.now()) == 0  # within its first minute it is the listener's
    assert mail_process_pending(now=timezone.now() + timedelta(minutes=1)) == 1
    stored.refresh_from_db()
    assert stored.state == InboundState.PROCESSED


@pytest.mark.django_db
def test_the_imap_poller_stores_processes_and_marks_seen(world: World) -> None:
    from escalada.mail_poller import ImapAccount, poll_once
    from tests.app.notifications.imap_server import Mailbox, serve

    box = Mailbox(
        messages=[mail(message_id="<i1@x>"), mail(subject="Second", message_id="<i2@x>", Auto_Submitted="auto-replied")]
    )
    for port in serve(box):
        account = ImapAccount(host="127.0.0.1", port=port, is_ssl=False, user="support", password="secret", folder="INBOX")
        assert poll_once(account) == 2
        assert box.seen == {1, 2}
        assert poll_once(account) == 0  # nothing unseen
    stored = list(InboundMail.objects.order_by("pk").values_list("source", "state", "header_message_id"))
    assert stored == [("imap", "processed", "<i1@x>"), ("imap", "ignored", "<i2@x>")]
    assert bytes(InboundMail.objects.order_by("pk").first().raw) == box.messages[0]  # type: ignore[union-attr]
