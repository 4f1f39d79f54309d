"""`escalada mail imap`: fetch customer e-mail from a mailbox (IMAP), for providers that do not
forward to `escalada mail smtp`.

Each unseen message is stored raw first (`desk.mail`), then processed; it is flagged \\Seen only
after it was stored, so a crash in between fetches it again (and the duplicate is recognised by
its Message-ID). Mailboxes: the active ones of Settings → Channels (read again every turn, so
one added there is polled without a restart) and the one in ESCALADA_IMAP_HOST, ESCALADA_IMAP_PORT
(993), ESCALADA_IMAP_SSL (true), ESCALADA_IMAP_USER, ESCALADA_IMAP_PASSWORD, ESCALADA_IMAP_FOLDER
(INBOX). Every ESCALADA_IMAP_EVERY_SECONDS (60).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessageFlags

from escalada.desk.mail import mail_receive_and_process
from escalada.notifications.channels import mailbox_poll_recorded
from escalada.notifications.models import Mailbox

logger = logging.getLogger("escalada.mail")


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    is_ssl: bool
    user: str
    password: str
    folder: str
    mailbox_id: int | None = None  # a Settings → Channels mailbox: its last poll is recorded there

    @classmethod
    def from_settings(cls) -> ImapAccount:
        return cls(
            host=settings.ESCALADA_IMAP_HOST,
            port=settings.ESCALADA_IMAP_PORT,
            is_ssl=settings.ESCALADA_IMAP_SSL,
            user=settings.ESCALADA_IMAP_USER,
            password=settings.ESCALADA_IMAP_PASSWORD,
            folder=settings.ESCALADA_IMAP_FOLDER,
        )

    @classmethod
    def all_active(cls) -> list[ImapAccount]:
        """The environment's mailbox (when set) and the active mailboxes of Settings → Channels."""
        found = [cls.from_settings()] if settings.ESCALADA_IMAP_HOST and settings.ESCALADA_IMAP_USER else []
        found += [
            cls(host=m.host, port=m.port, is_ssl=m.is_ssl, user=m.username, password=m.password, folder=m.folder, mailbox_id=m.pk)
            for m in Mailbox.objects.filter(is_active=True).order_by("pk")
        ]
        return found


def poll_once(account: ImapAccount, *, batch: int = 50) -> int:
    """Fetch, store and process the unseen messages; returns how many were stored."""
    box_class = MailBox if account.is_ssl else MailBoxUnencrypted
    stored = 0
    with box_class(account.host, account.port, timeout=30).login(
        account.user, account.password, initial_folder=account.folder
    ) as box:
        for message in box.fetch(AND(seen=False), mark_seen=False, bulk=batch, limit=batch):
            raw = getattr(message, "_raw_message_data", None) or message.obj.as_bytes()
            mail_receive_and_process(raw=bytes(raw), source="imap")
            if message.uid is not None:
                box.flag(message.uid, MailMessageFlags.SEEN, True)
            stored += 1
    return stored


def poll_recorded(account: ImapAccount) -> int:
    """One poll of one mailbox; the outcome is logged and, for a Settings mailbox, recorded on
    it. A mailbox that is down or refuses the login does not stop the others."""
    stored, error = 0, ""
    try:
        stored = poll_once(account)
        if stored:
            logger.info("stored %d message(s) from %s@%s", stored, account.user, account.host)
    except Exception as exc:  # the mailbox may be down; try again on the next turn
        error = f"{type(exc).__name__}: {exc}"
        logger.exception("IMAP poll of %s@%s failed", account.user, account.host)
    if account.mailbox_id is not None:
        mailbox_poll_recorded(mailbox_id=account.mailbox_id, stored=stored, error=error, now=timezone.now())
    return stored


def poll_forever(*, every: float, stop: threading.Event) -> None:
    logger.info("polling the active mailboxes every %s s", every)
    while not stop.is_set():
        close_old_connections()
        for account in ImapAccount.all_active():
            poll_recorded(account)
        stop.wait(every)
