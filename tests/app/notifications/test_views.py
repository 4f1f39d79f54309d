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
