"""Reading a received e-mail: what it says, who sent it, what it answers, and whether a machine
wrote it. Pure parsing (no database); `escalada.desk.mail` turns the result into tickets.

Hostile input is expected: broken MIME, wrong or missing charsets, huge headers, deep nesting.
Every failure becomes a `MailProblem` with a reason in words, never an exception that escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses
from html import unescape

from mailparser_reply import EmailReplyParser

MAX_HEADER_BYTES = 256 * 1024  # a header block larger than this is not a person's mail
MAX_PARTS = 200
MAX_DEPTH = 10
MAX_BODY_CHARS = 200_000
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS_BYTES = 25 * 1024 * 1024
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,900}>")
_SUBJECT_TOKEN = re.compile(r"\[#(\d{1,18})\]")
_OUR_ID = re.compile(r"<ticket-(\d{1,18})[.@]")
_AUTOMATED_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+@]|$)", re.IGNORECASE)


class MailProblem(Exception):
    """The mail cannot become a ticket; `reason` says why, for the quarantine list."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    references: tuple[str, ...]  # In-Reply-To first, then References, newest first
    subject: str
    from_address: str
    from_name: str
    body_text: str  # the new part only: quoted history stripped
    attachments: tuple[Attachment, ...]
    automated: str | None  # why a machine wrote it (auto-reply, bounce, list), or None
    skipped: tuple[str, ...] = field(default=())  # what was left out (oversized attachments…)

    @property
    def ticket_numbers(self) -> tuple[int, ...]:
        """Ticket numbers this mail points at: our Message-IDs it answers, then the subject token."""
        numbers = [int(m.group(1)) for ref in self.references if (m := _OUR_ID.match(ref))]
        token = _SUBJECT_TOKEN.search(self.subject)
        if token:
            numbers.append(int(token.group(1)))
        return tuple(dict.fromkeys(numbers))


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError, LookupError, AttributeError):
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def _automated(message: Message, from_address: str) -> str | None:
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(message, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        value = _header(message, name)
        if value and (name != "X-Auto-Response-Suppress" or "all" in value.lower() or "oof" in value.lower()):
            return f"{name}: {value}"
    if _header(message, "List-Id") or _header(message, "List-Unsubscribe"):
        return "a mailing-list message"
    content_type = message.get_content_type()
    if content_type == "multipart/report" or _header(message, "Return-Path") == "<>":
        return "a delivery report (bounce)"
    if _AUTOMATED_SENDERS.match(from_address):
        return f"sent by {from_address}"
    return None


def _decoded_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        return payload.decode("utf-8", errors="replace")


def _walk(message: Message, depth: int = 0) -> list[Message]:
    """Leaf parts, depth-first, bounded in depth and count (no recursion bombs)."""
    if depth > MAX_DEPTH:
        raise MailProblem(f"The message nests more than {MAX_DEPTH} levels of parts.")
    if not message.is_multipart():
        return [message]
    payload = message.get_payload()
    if not isinstance(payload, list):
        return []
    leaves: list[Message] = []
    for part in payload:
        if isinstance(part, Message):
            leaves += _walk(part, depth + 1)
        if len(leaves) > MAX_PARTS:
            raise MailProblem(f"The message has more than {MAX_PARTS} parts.")
    return leaves


def _strip_quoted(text: str) -> str:
    try:
        reply = EmailReplyParser(languages=["en", "de", "fr", "es", "it", "nl", "pt"]).parse_reply(text=text)
    except Exception:  # the reply parser is a heuristic; the whole text is the safe answer
        return text.strip()
    return (reply or text).strip()


def html_to_plain(html: str) -> str:
    text = re.sub(r"(?is)<(script|style)[^>]*>.*?</\1>", " ", html)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>", "\n", text)
    text = re.sub(r"<[^>]+>", " ", text)
    return "\n".join(" ".join(line.split()) for line in unescape(text).splitlines()).strip()


def parse_mail(raw: bytes) -> ParsedMail:
    """Read a raw RFC 5322 message; MailProblem (with the reason) when it cannot be used."""
    header_end = raw.find(b"\r\n\r\n")
    if header_end < 0:
        header_end = raw.find(b"\n\n")
    if (header_end < 0 and len(raw) > MAX_HEADER_BYTES) or header_end > MAX_HEADER_BYTES:
        raise MailProblem(f"The header block is larger than {MAX_HEADER_BYTES // 1024} KiB.")
    try:
        message = message_from_bytes(raw, policy=policy.default)
    except Exception as exc:  # the stdlib parser is lenient, but a defect must not escape
        raise MailProblem(f"The message cannot be parsed: {type(exc).__name__}: {exc}") from None
    assert isinstance(message, EmailMessage)
    try:
        senders = getaddresses([_header(message, "From")])
    except (ValueError, IndexError, TypeError):
        senders = []
    from_name, from_address = senders[0] if senders else ("", "")
    from_address = from_address.strip().lower()
    if not from_address or "@" not in from_address or len(from_address) > 254 or any(c in from_address for c in " \r\n<>"):
        raise MailProblem(f"No usable sender address in From: {_header(message, 'From')[:200]!r}.")
    from_name = " ".join(from_name.split())[:200]
    message_ids = _MESSAGE_ID.findall(_header(message, "Message-ID"))
    in_reply_to = _MESSAGE_ID.findall(_header(message, "In-Reply-To"))
    references = _MESSAGE_ID.findall(_header(message, "References"))
    ordered = tuple(dict.fromkeys([*in_reply_to, *reversed(references)]))
    subject = _header(message, "Subject")[:250]
    automated = _automated(message, from_address)

    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    skipped: list[str] = []
    total = 0
    for part in _walk(message):
        content_type = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
        if disposition == "attachment" or (filename and content_type not in ("text/plain", "text/html")):
            data = part.get_payload(decode=True)
            if not isinstance(data, bytes):
                continue
            name = " ".join(str(filename or "attachment").split())[:200] or "attachment"
            if len(data) > MAX_ATTACHMENT_BYTES or total + len(data) > MAX_ATTACHMENTS_BYTES:
                skipped.append(f"{name} ({len(data) // 1024} KiB) is over the attachment size limit")
                continue
            total += len(data)
            attachments.append(Attachment(filename=name, content_type=content_type[:100], content=data))
        elif content_type == "text/plain":
            plain.append(_decoded_text(part))
        elif content_type == "text/html":
            html.append(_decoded_text(part))
    text = "\n\n".join(t for t in plain if t.strip()) or html_to_plain("\n".join(html))
    body = _strip_quoted(text.replace("\r\n", "\n").replace("\x00", ""))[:MAX_BODY_CHARS]
    if not body and not attachments:
        body = "(no text)"
    return ParsedMail(
        message_id=message_ids[0] if message_ids else None,
        references=ordered,
        subject=subject,
        from_address=from_address,
        from_name=from_name,
        body_text=body,
        attachments=tuple(attachments),
        automated=automated,
        skipped=tuple(skipped),
    )
