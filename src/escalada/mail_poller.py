"""`escalada mail imap`: fetch customer e-mail from a mailbox (IMAP), for providers that do not
forward to `escalada mail smtp`.

Each unseen message is stored raw first (`desk.mail`), then processed; it is flagged \\Seen only
after it was stored, so a crash in between fetches it again (and the duplicate is recognised by
its Message-ID). Settings: ESCALADA_IMAP_HOST, ESCALADA_IMAP_PORT (993), ESCALADA_IMAP_SSL
(true), ESCALADA_IMAP_USER, ESCALADA_IMAP_PASSWORD, ESCALADA_IMAP_FOLDER (INBOX),
ESCALADA_IMAP_EVERY_SECONDS (60).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessageFlags

from escalada.desk.mail import mail_receive_and_process

logger = logging.getLogger("escalada.mail")


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    is_ssl: bool
    user: str
    password: str
    folder: str

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


def poll_forever(account: ImapAccount, *, every: float, stop: threading.Event) -> None:
    logger.info("polling %s@%s:%d/%s every %s s", account.user, account.host, account.port, account.folder, every)
    while not stop.is_set():
        try:
            count = poll_once(account)
            if count:
                logger.info("stored %d message(s) from IMAP", count)
        except Exception:  # the mailbox may be down; try again on the next turn
            logger.exception("IMAP poll failed; retrying in %s s", every)
        stop.wait(every)
