"""Settings → Webhooks: add with the secret shown once, the delivery log, remove; admins only."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from escalada.notifications import services
from escalada.notifications.models import OutboxMessage, WebhookSubscription
from tests.app.conftest import World, database_state

pytestmark = pytest.mark.django_db


def test_admins_add_see_calls_and_remove_webhooks(world: World, web_as: dict[str, Client], settings: Any) -> None:
    settings.ESCALADA_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    before = database_state()
    assert web_as["sam"].get("/settings/webhooks/").status_code == 403
    assert (
        web_as["sam"].post("/settings/webhooks/", {"name": "X", "url": "http://127.0.0.1:9/x", "event_types": ["*"]}).status_code
        == 403
    )
    empty = web_as["admin"].post("/settings/webhooks/", {"name": "CRM", "url": "not a url"})
    assert empty.status_code == 422
    assert database_state() == before
    added = web_as["admin"].post(
        "/settings/webhooks/",
        {"name": "CRM", "url": "http://127.0.0.1:9/hook", "event_types": ["ticket.created", "escalation.opened"]},
    )
    subscription = WebhookSubscription.objects.get()
    assert (added.status_code, subscription.event_types) == (200, ["escalation.opened", "ticket.created"])
    assert subscription.secret in added.content.decode()
    assert subscription.secret not in web_as["admin"].get("/settings/webhooks/").content.decode()  # shown once
    services.webhooks_dispatch(kind="ticket.created", data={"id": 1}, ticket=None, now=subscription.created_at)
    with CaptureQueriesContext(connection) as few:
        page = web_as["admin"].get("/settings/webhooks/").content.decode()
    assert "ticket.created" in page.split(f'id="webhook-{subscription.pk}"')[1]
    services.webhook_subscription_create(name="Pager", url="http://127.0.0.1:9/p", event_types=["*"], actor=None)
    with CaptureQueriesContext(connection) as more:
        web_as["admin"].get("/settings/webhooks/")
    assert len(more) == len(few)
    removed = web_as["admin"].post(f"/settings/webhooks/{subscription.pk}/delete")
    assert removed.status_code == 302
    assert not WebhookSubscription.objects.filter(pk=subscription.pk).exists()
    assert OutboxMessage.objects.filter(kind="ticket.created").count() == 1  # queued calls stay
