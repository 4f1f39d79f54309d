"""The outbox page: admins see dead and failing messages and replay them; nobody else does."""

from __future__ import annotations

import pytest
from django.test import Client

from escalada.desk import verbs
from escalada.notifications.models import OutboxMessage, OutboxState
from tests.app.conftest import World, database_state

pytestmark = pytest.mark.django_db


def test_admins_see_dead_messages_and_replay_them(world: World, web_as: dict[str, Client]) -> None:
    ticket = verbs.ticket_open(subject="Down", description="x", requester=world.ana, channel="web", actor=None)
    message = OutboxMessage.objects.get(ticket=ticket)
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=OutboxState.DEAD, next_attempt_at=None, last_error="SMTP 550: 'no such user'"
    )
    page = web_as["admin"].get("/settings/outbox/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "customer.ticket_received" in html
    assert "SMTP 550: &#x27;no such user&#x27;" in html
    assert f'action="/settings/outbox/{message.pk}/replay"' in html
    assert "Nothing is waiting to be sent." in web_as["admin"].get("/settings/outbox/?show=pending").content.decode()

    before = database_state()
    assert web_as["sam"].get("/settings/outbox/").status_code == 403
    assert web_as["sam"].post(f"/settings/outbox/{message.pk}/replay").status_code == 403
    assert database_state() == before

    replayed = web_as["admin"].post(f"/settings/outbox/{message.pk}/replay", follow=True)
    assert "is queued again" in replayed.content.decode()
    message.refresh_from_db()
    assert (message.state, message.last_error) == (OutboxState.QUEUED, "SMTP 550: 'no such user'")
    second = web_as["admin"].post(f"/settings/outbox/{message.pk}/replay", follow=True)
    assert "Only dead or failing messages are replayed; this one is queued." in second.content.decode()


def test_quarantined_mail_is_listed_downloaded_and_reprocessed(
    world: World, web_as: dict[str, Client], api_as: dict[str, Client]
) -> None:
    from escalada.desk.mail import mail_receive_and_process
    from escalada.notifications.models import InboundMail, InboundState

    inbound = mail_receive_and_process(raw=b"Subject: hi\r\n\r\nno sender", source="smtp")
    page = web_as["admin"].get("/settings/inbound-mail/").content.decode()
    assert "No usable sender address in From: &#x27;&#x27;." in page
    assert f'action="/settings/inbound-mail/{inbound.pk}/reprocess"' in page
    api = api_as["admin"].get("/api/v1/inbound-mail?state=quarantined").json()
    assert [(m["id"], m["state"], m["reason"]) for m in api["items"]] == [
        (inbound.pk, "quarantined", "No usable sender address in From: ''.")
    ]
    raw = api_as["admin"].get(f"/api/v1/inbound-mail/{inbound.pk}/raw")
    assert (raw.status_code, raw["Content-Type"], raw.content) == (200, "message/rfc822", b"Subject: hi\r\n\r\nno sender")
    assert web_as["sam"].get("/settings/inbound-mail/").status_code == 403
    assert api_as["sam"].get("/api/v1/inbound-mail").status_code == 403
    still = web_as["admin"].post(f"/settings/inbound-mail/{inbound.pk}/reprocess", follow=True).content.decode()
    assert f"Mail {inbound.pk} is still quarantined: No usable sender address" in still
    InboundMail.objects.filter(pk=inbound.pk).update(raw=b"From: ana@northwind.example\r\nMessage-ID: <fixed@x>\r\n\r\nfixed")
    done = api_as["admin"].post(f"/api/v1/inbound-mail/{inbound.pk}/reprocess")
    assert (done.status_code, done.json()["state"]) == (200, InboundState.PROCESSED)
    again = api_as["admin"].post(f"/api/v1/inbound-mail/{inbound.pk}/reprocess")
    assert (again.status_code, again.json()["detail"]) == (409, "This mail became a ticket or a reply already.")
