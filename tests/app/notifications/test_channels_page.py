"""Settings → Channels: IMAP mailboxes and intake secrets, made by admins in the product."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from escalada.audit.models import Event
from escalada.notifications.models import IntakeSecret, Mailbox
from escalada.tickets.models import Ticket
from tests.app.conftest import World, database_state
from tests.app.notifications.test_intake import BODY, post_signed

pytestmark = pytest.mark.django_db

MAILBOX = {
    "name": "Support inbox",
    "host": "imap.northwind.example",
    "port": "993",
    "is_ssl": "on",
    "username": "support@northwind.example",
    "password": "app-password",
    "folder": "INBOX",
    "is_active": "on",
}


def test_an_admin_adds_changes_and_removes_a_mailbox(world: World, web_as: dict[str, Client]) -> None:
    admin = web_as["admin"]
    assert admin.post("/settings/channels/mailboxes/new", MAILBOX).status_code == 302
    box = Mailbox.objects.get()
    assert (box.name, box.host, box.port, box.is_ssl, box.username, box.password, box.folder, box.is_active) == (
        "Support inbox",
        "imap.northwind.example",
        993,
        True,
        "support@northwind.example",
        "app-password",
        "INBOX",
        True,
    )
    page = admin.get("/settings/channels/").content.decode()
    assert "imap.northwind.example:993" in page
    assert "app-password" not in page
    # A change with the password left blank keeps it; the event never holds it.
    changed = {**MAILBOX, "password": "", "folder": "Support", "is_active": ""}
    assert admin.post(f"/settings/channels/mailboxes/{box.pk}/", changed).status_code == 302
    box.refresh_from_db()
    assert (box.folder, box.is_active, box.password) == ("Support", False, "app-password")
    events = list(Event.objects.filter(subject_type="mailbox").order_by("pk").values_list("kind", "before", "after"))
    assert events[1] == ("mailbox.updated", {"folder": "INBOX", "is_active": True}, {"folder": "Support", "is_active": False})
    assert "app-password" not in str(events)
    assert admin.post(f"/settings/channels/mailboxes/{box.pk}/remove").status_code == 302
    assert Mailbox.objects.count() == 0


def test_a_bad_mailbox_names_each_field_and_saves_nothing(world: World, web_as: dict[str, Client]) -> None:
    before = database_state()
    response = web_as["admin"].post(
        "/settings/channels/mailboxes/new", {**MAILBOX, "host": "imap northwind", "password": "", "folder": " "}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Give the IMAP server&#x27;s host name, e.g. imap.example.com." in html
    assert "Give the mailbox&#x27;s password (or app password)." in html
    assert "This field is required." in html  # the folder
    assert (Mailbox.objects.count(), database_state() == before) == (0, True)


def test_only_admins_see_or_change_channels(world: World, web_as: dict[str, Client]) -> None:
    before = database_state()
    assert web_as["sam"].get("/settings/channels/").status_code == 403
    assert web_as["sam"].post("/settings/channels/mailboxes/new", MAILBOX).status_code == 403
    assert web_as["sam"].post("/settings/channels/secrets/new", {"name": "Chat"}).status_code == 403
    assert web_as["ana"].get("/settings/channels/").status_code == 403
    assert database_state() == before


def test_a_secret_made_here_signs_intake_calls_until_revoked(world: World, web_as: dict[str, Client], settings: Any) -> None:
    settings.ESCALADA_INTAKE_SECRET = ""
    made = web_as["admin"].post("/settings/channels/secrets/new", {"name": "Chat widget"}, follow=True)
    row = IntakeSecret.objects.get()
    html = made.content.decode()
    assert made.redirect_chain == [("/settings/channels/", 302)]  # a reload makes no second secret
    assert row.secret in html  # shown once, on the page after the redirect
    assert made["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    assert row.secret not in web_as["admin"].get("/settings/channels/").content.decode()
    assert (row.name, row.prefix, row.secret.startswith("isk_"), len(row.secret)) == ("Chat widget", row.secret[:10], True, 47)
    assert post_signed(BODY, secret=row.secret).status_code == 201
    row.refresh_from_db()
    assert row.last_used_at is not None
    # Rotation: a second secret works alongside; the first, revoked, is refused.
    web_as["admin"].post("/settings/channels/secrets/new", {"name": "Chat widget (new)"})
    second = IntakeSecret.objects.exclude(pk=row.pk).get()
    assert web_as["admin"].post(f"/settings/channels/secrets/{row.pk}/revoke").status_code == 302
    assert post_signed({**BODY, "external_id": "conv-43"}, secret=row.secret).status_code == 401
    assert post_signed({**BODY, "external_id": "conv-43"}, secret=second.secret).status_code == 201
    assert Ticket.objects.filter(channel="chat").count() == 2
    assert "intake_secret.revoked" in Event.objects.filter(subject_type="intake_secret").values_list("kind", flat=True)


def test_a_secret_needs_a_name(world: World, web_as: dict[str, Client]) -> None:
    response = web_as["admin"].post("/settings/channels/secrets/new", {"name": "  "})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert IntakeSecret.objects.count() == 0


def test_the_poller_reads_settings_mailboxes_and_records_each_poll(world: World, web_as: dict[str, Client]) -> None:
    from escalada.mail_poller import ImapAccount, poll_recorded
    from tests.app.notifications.imap_server import Mailbox as FakeBox
    from tests.app.notifications.imap_server import serve
    from tests.app.notifications.test_inbound import mail

    box = FakeBox(messages=[mail(message_id="<s1@x>")])
    for port in serve(box):
        web_as["admin"].post(
            "/settings/channels/mailboxes/new",
            {**MAILBOX, "host": "127.0.0.1", "port": str(port), "is_ssl": "", "username": "support", "password": "secret"},
        )
        web_as["admin"].post(
            "/settings/channels/mailboxes/new",
            {**MAILBOX, "name": "Dead", "host": "127.0.0.1", "port": "1", "is_ssl": "", "username": "x", "password": "y"},
        )
        accounts = ImapAccount.all_active()
        assert [(a.host, a.port, a.user, a.mailbox_id is not None) for a in accounts] == [
            ("127.0.0.1", port, "support", True),
            ("127.0.0.1", 1, "x", True),
        ]
        assert [poll_recorded(account) for account in accounts] == [1, 0]
    good, dead = Mailbox.objects.order_by("pk")
    assert (good.last_stored, good.last_error, good.last_polled_at is not None) == (1, "", True)
    assert dead.last_error.startswith("ConnectionRefusedError")
    assert "ConnectionRefusedError" in web_as["admin"].get("/settings/channels/").content.decode()
