"""The outbox end to end over loopback: real SMTP, a real HTTP receiver, retries, dead letters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from escalada.base.errors import ValidationFailed
from escalada.desk import verbs
from escalada.notifications import delivery, services
from escalada.notifications.models import OutboxMessage, OutboxState, WebhookSubscription
from escalada.tickets.models import Message
from tests.app.conftest import World, database_state
from tests.app.notifications.sinks import HttpSink, SmtpSink, http_sink, smtp_sink

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpSink]:
    for sink in smtp_sink():
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = sink.port
        settings.DEFAULT_FROM_EMAIL = "support@escalada.example"
        yield sink


@pytest.fixture
def hooks(settings: Any) -> Iterator[HttpSink]:
    settings.ESCALADA_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    yield from http_sink()


def open_ticket(world: World, at: datetime = T0) -> Any:
    return verbs.ticket_open(
        subject="Balance wrong",
        description="My account balance is wrong.",
        requester=world.ana,
        channel="email",
        actor=None,
        external_message_id="<CAF1234@mail.northwind.example>",
        now=at,
    )


def test_customer_mails_go_out_over_smtp_and_thread(world: World, smtp: SmtpSink) -> None:
    ticket = open_ticket(world)
    verbs.ticket_reply(ticket=ticket, actor=world.sam.user, body="We are on it.", now=T0 + timedelta(minutes=5))
    verbs.ticket_reply(
        ticket=ticket, actor=world.sam.user, body="Internal: check invoices", visibility="internal", now=T0 + timedelta(minutes=6)
    )
    verbs.ticket_change_status(ticket=ticket, status="solved", actor=world.sam.user, now=T0 + timedelta(minutes=7))
    assert delivery.outbox_deliver_due(now=T0 + timedelta(minutes=8)) == 3
    assert [m["Subject"] for m in smtp.messages] == [
        f"[#{ticket.number}] We have your request: Balance wrong",
        f"Re: [#{ticket.number}] Balance wrong",
        f"[#{ticket.number}] Solved: Balance wrong",
    ]
    assert {tuple(rcpt) for _, rcpt in smtp.envelopes} == {("ana@northwind.example",)}
    root = f"<ticket-{ticket.pk}@escalada.example>"
    for mail in smtp.messages:
        assert mail["In-Reply-To"] == "<CAF1234@mail.northwind.example>"
        assert mail["References"] == f"{root} <CAF1234@mail.northwind.example>"
        assert mail["Message-ID"].startswith(f"<ticket-{ticket.pk}.")
        assert mail["Reply-To"] == "support@escalada.example"
    reply = smtp.messages[1]
    assert reply.get_body(preferencelist=("plain",)).get_content().startswith("We are on it.")  # type: ignore[union-attr]
    assert "Internal" not in "".join(m.as_string() for m in smtp.messages)  # internal notes never leave
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {OutboxState.SENT}
    assert delivery.outbox_deliver_due(now=T0 + timedelta(minutes=9)) == 0  # sent once


def test_a_rolled_back_change_leaves_no_outbox_row(world: World) -> None:
    def failing_request() -> None:
        with transaction.atomic():
            open_ticket(world)
            assert OutboxMessage.objects.count() == 1
            raise RuntimeError("the request failed after the ticket was written")

    with pytest.raises(RuntimeError):
        failing_request()
    assert OutboxMessage.objects.count() == 0


@transaction.atomic
def enqueue_in_transaction(**kwargs: Any) -> OutboxMessage:
    return services.email_enqueue(**kwargs)


def test_header_injection_is_refused(world: World) -> None:
    before = database_state()
    with pytest.raises(ValidationFailed) as caught:
        enqueue_in_transaction(
            kind="x",
            to="ana@northwind.example\r\nBcc: everyone@example.com",
            subject="Hi\nX-Evil: 1",
            body_text="x",
            ticket=None,
            idempotency_key="k",
        )
    assert set(caught.value.errors) == {"to", "subject"}
    assert database_state() == before


def test_an_unreachable_mail_server_is_retried_until_it_answers(world: World, smtp: SmtpSink, settings: Any) -> None:
    settings.EMAIL_PORT = 1  # nothing listens there: connection refused, a temporary failure
    open_ticket(world)
    assert delivery.outbox_deliver_due(now=T0) == 1
    message = OutboxMessage.objects.get()
    wait = delivery.retry_delay(key=message.idempotency_key, attempt=1)
    assert (message.state, message.attempts, message.next_attempt_at) == (OutboxState.FAILED, 1, T0 + wait)
    assert message.last_error.startswith("ConnectionRefusedError")
    assert timedelta(seconds=45) <= wait <= timedelta(seconds=75)
    assert delivery.outbox_deliver_due(now=T0 + wait - timedelta(microseconds=1)) == 0  # not before its time
    settings.EMAIL_PORT = smtp.port
    assert delivery.outbox_deliver_due(now=T0 + wait) == 1
    message.refresh_from_db()
    assert (message.state, message.attempts, len(smtp.messages)) == (OutboxState.SENT, 2, 1)


def test_webhooks_are_signed_retried_with_the_same_id_and_replayed(world: World, hooks: HttpSink) -> None:
    subscription = services.webhook_subscription_create(
        name="CRM", url=hooks.url, event_types=["ticket.created"], actor=world.admin
    )
    hooks.statuses = [500, 500, 500]
    ticket = open_ticket(world)
    webhook = OutboxMessage.objects.get(channel="webhook")
    now = T0
    for attempt in range(1, 4):
        assert delivery.outbox_deliver_due(now=now) >= 1
        webhook.refresh_from_db()
        assert (webhook.state, webhook.attempts, webhook.last_error) == (OutboxState.FAILED, attempt, "HTTP 500: 'ok'")
        assert webhook.next_attempt_at is not None
        now = webhook.next_attempt_at
    assert delivery.outbox_deliver_due(now=now) == 1
    webhook.refresh_from_db()
    assert (webhook.state, webhook.attempts) == (OutboxState.SENT, 4)
    ids = {headers["webhook-id"] for headers, _ in hooks.requests}
    assert len(hooks.requests) == 4
    assert len(ids) == 1
    for headers, body in hooks.requests:
        verified = Webhook(subscription.secret).verify(body, headers)  # raises on a bad signature
        assert verified["type"] == "ticket.created"
        assert verified["data"]["number"] == ticket.number

    # Dead letter: a 410 Gone stops at once; replay sends it again with the same id.
    hooks.statuses = [410]
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="More info", now=now)  # ticket.replied: not subscribed
    subscription.event_types = ["ticket.created", "ticket.replied"]
    subscription.save(update_fields=["event_types"])
    verbs.ticket_reply(ticket=ticket, actor=world.ana_user, body="Even more", now=now)
    assert delivery.outbox_deliver_due(now=now) == 1
    dead = OutboxMessage.objects.get(channel="webhook", kind="ticket.replied")
    assert (dead.state, dead.next_attempt_at, dead.last_error) == (OutboxState.DEAD, None, "HTTP 410: 'ok'")
    services.outbox_replay(message=dead, actor=world.admin, now=now + timedelta(hours=1))
    assert delivery.outbox_deliver_due(now=now + timedelta(hours=1)) == 1
    dead.refresh_from_db()
    assert (dead.state, dead.attempts) == (OutboxState.SENT, 2)
    assert hooks.requests[-1][0]["webhook-id"] == hooks.requests[-2][0]["webhook-id"]


def test_a_message_is_dead_after_about_72_hours_of_failures(world: World, hooks: HttpSink) -> None:
    services.webhook_subscription_create(name="Down", url=hooks.url, event_types=["*"], actor=None)
    hooks.statuses = [503] * 100
    open_ticket(world)
    webhook = OutboxMessage.objects.get(channel="webhook")
    now = T0
    while True:
        delivery.outbox_deliver_due(now=now)
        webhook.refresh_from_db()
        if webhook.state == OutboxState.DEAD:
            break
        assert webhook.next_attempt_at is not None
        now = webhook.next_attempt_at
    assert timedelta(hours=60) < now - T0 <= timedelta(hours=72)
    assert 15 <= webhook.attempts <= 25


def test_webhook_targets_inside_the_network_are_refused(world: World, settings: Any) -> None:
    settings.ESCALADA_WEBHOOK_ALLOWED_HOSTS = []
    for url, message in [
        ("http://127.0.0.1:8080/x", "127.0.0.1 resolves to 127.0.0.1, an internal address"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 resolves to 169.254.169.254, an internal address"),
        ("http://[::1]/x", "::1 resolves to ::1, an internal address"),
        ("ftp://example.com/x", "Give an http:// or https:// URL with a host name."),
        ("http://user:pw@example.com/x", "Put credentials in the signing secret, not in the URL."),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            services.webhook_subscription_create(name="Bad", url=url, event_types=["*"], actor=None)
        assert caught.value.errors["url"].startswith(message), (url, caught.value.errors)
    settings.ESCALADA_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with pytest.raises(ValidationFailed) as caught:
        services.webhook_subscription_create(name="Bad", url="http://127.0.0.1/x", event_types=["ticket.exploded"], actor=None)
    assert caught.value.errors == {"event_types": caught.value.errors["event_types"]}
    assert caught.value.errors["event_types"].startswith("Unknown event type(s) ticket.exploded")
    assert WebhookSubscription.objects.count() == 0


def test_sla_breaches_are_announced_by_webhook(world: World, hooks: HttpSink) -> None:
    from escalada.sla.clocks import sla_fire_due
    from tests.app.sla.scenario import berlin, berlin_calendar, standard_policy

    standard_policy(berlin_calendar())
    services.webhook_subscription_create(name="Pager", url=hooks.url, event_types=["sla.breached"], actor=None)
    ticket = verbs.ticket_open(
        subject="Down", description="x", requester=world.ana, channel="phone", actor=None, priority="high", now=berlin(23, 10)
    )
    assert sla_fire_due(now=berlin(23, 11)) == 2  # first response: warning and breach
    assert delivery.outbox_deliver_due(now=berlin(23, 11)) == 2  # the ack mail (file backend) and the webhook
    ((headers, body),) = hooks.requests
    payload = Webhook(WebhookSubscription.objects.get().secret).verify(body, headers)
    assert payload["data"] == {
        "ticket_id": ticket.pk,
        "metric": "first_response",
        "cycle": 1,
        "due_at": "2026-11-23T10:00:00Z",
        "fired_at": "2026-11-23T10:00:00Z",
    }
    assert Message.objects.filter(ticket=ticket).count() == 1
