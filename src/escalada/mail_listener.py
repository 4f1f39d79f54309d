"""`escalada mail smtp`: an SMTP server that receives customer e-mail.

Point your MX (or a forwarding rule of your mail provider) at it. Each message is stored raw in
its own transaction before the server answers; only then does it say 250. When storing fails
the answer is 451 (try again later), so the sending server keeps the message and retries:
nothing is lost. Processing (ticket, reply, ignore, quarantine) follows in the same call; a
failure there leaves the stored mail quarantined for an admin, and the sender still gets 250.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from aiosmtpd.controller import Controller
from django.db import connection

from escalada.desk.mail import mail_receive_and_process

logger = logging.getLogger("escalada.mail")

MAX_MESSAGE_BYTES = 40 * 1024 * 1024


def _store_and_process(raw: bytes, envelope_from: str, envelope_to: list[str]) -> int:
    # Runs in a pool thread: its database connection is closed at the end, so no connection
    # outlives the mail it served (mail arrives seconds apart, not thousands a second). Raises
    # only when the mail could not be stored.
    try:
        return mail_receive_and_process(raw=raw, source="smtp", envelope_from=envelope_from, envelope_to=envelope_to).pk
    finally:
        connection.close()


class InboundHandler:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        try:
            pk = await asyncio.to_thread(
                _store_and_process, raw, str(envelope.mail_from or ""), [str(r) for r in envelope.rcpt_tos]
            )
        except Exception:
            logger.exception("an inbound mail could not be stored; the sender was asked to retry")
            return "451 4.3.0 The message could not be stored; please try again later"
        logger.info("inbound mail %s stored (%d bytes)", pk, len(raw))
        return "250 2.0.0 Message accepted"


def smtp_controller(*, host: str, port: int) -> Controller:
    return Controller(InboundHandler(), hostname=host, port=port, data_size_limit=MAX_MESSAGE_BYTES, decode_data=False)


def serve_smtp(*, host: str, port: int, stop: threading.Event) -> None:
    controller = smtp_controller(host=host, port=port)
    controller.start()
    logger.info("SMTP listener on %s:%d", host, port)
    try:
        stop.wait()
    finally:
        controller.stop()
        logger.info("SMTP listener stopped")
