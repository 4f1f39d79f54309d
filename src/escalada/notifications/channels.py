"""Channels an admin configures in the product: IMAP mailboxes and intake secrets.

Both add to what the environment sets (ESCALADA_IMAP_*, ESCALADA_INTAKE_SECRET), which keeps
working. Every change is an audit event; passwords and secrets never go into an event.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from escalada.audit.services import event_record
from escalada.base.errors import NotFound, PermissionDenied, ValidationFailed
from escalada.notifications.models import IntakeSecret, Mailbox

HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
PUBLIC_FIELDS = ("name", "host", "port", "is_ssl", "username", "folder", "is_active")


def require_admin(user: AbstractBaseUser | AnonymousUser) -> None:
    if not (user.is_authenticated and getattr(user, "is_superuser", False)):
        raise PermissionDenied("Channels are configured by admins.")


def mailbox_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Mailbox]:
    require_admin(user)
    return Mailbox.objects.order_by("name")


def mailbox_get(*, user: AbstractBaseUser | AnonymousUser, mailbox_id: int) -> Mailbox:
    found = mailbox_list(user=user).filter(pk=mailbox_id).first()
    if found is None:
        raise NotFound("There is no such mailbox.")
    return found


def mailbox_problems(data: Mapping[str, Any], *, mailbox: Mailbox | None) -> dict[str, str]:
    """What is wrong with this mailbox data, field by field (empty when it may be saved)."""
    return _mailbox_errors(data, is_new=mailbox is None, mailbox_id=mailbox.pk if mailbox else None)


def _mailbox_errors(data: Mapping[str, Any], *, is_new: bool, mailbox_id: int | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = " ".join(str(data.get("name") or "").split())
    if not 1 <= len(name) <= 100:
        errors["name"] = "Give the mailbox a name of 1 to 100 characters."
    elif Mailbox.objects.filter(name__iexact=name).exclude(pk=mailbox_id or 0).exists():
        errors["name"] = f"There is a mailbox called {name!r} already."
    if not HOST.match(str(data.get("host") or "").strip()):
        errors["host"] = "Give the IMAP server's host name, e.g. imap.example.com."
    port = data.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        errors["port"] = "A port is a number from 1 to 65535 (IMAP over TLS: 993)."
    if not 1 <= len(str(data.get("username") or "").strip()) <= 254:
        errors["username"] = "Give the user name the server expects (often the full address)."
    password = str(data.get("password") or "")
    if is_new and not password:
        errors["password"] = "Give the mailbox's password (or app password)."  # noqa: S105 - a sentence
    elif len(password) > 500:
        errors["password"] = "At most 500 characters."  # noqa: S105 - a sentence
    folder = str(data.get("folder") or "").strip()
    if not 1 <= len(folder) <= 200:
        errors["folder"] = "Give the folder to read, e.g. INBOX."
    return errors


@transaction.atomic
def mailbox_save(*, mailbox: Mailbox | None, data: Mapping[str, Any], actor: User, now: datetime | None = None) -> Mailbox:
    """Create (`mailbox` None) or change a mailbox. On a change, a blank password keeps the old one."""
    require_admin(actor)
    errors = _mailbox_errors(data, is_new=mailbox is None, mailbox_id=mailbox.pk if mailbox else None)
    if errors:
        raise ValidationFailed(errors)
    at = now or timezone.now()
    before = {name: getattr(mailbox, name) for name in PUBLIC_FIELDS} if mailbox else {}
    row = mailbox or Mailbox(created_at=at)
    row.name = " ".join(str(data["name"]).split())
    row.host = str(data["host"]).strip()
    row.port = int(data["port"])
    row.is_ssl = bool(data.get("is_ssl", True))
    row.username = str(data["username"]).strip()
    row.folder = str(data["folder"]).strip()
    row.is_active = bool(data.get("is_active", True))
    if data.get("password"):
        row.password = str(data["password"])
    row.updated_at = at
    row.save()
    after = {name: getattr(row, name) for name in PUBLIC_FIELDS}
    event_record(
        subject_type="mailbox",
        subject_id=row.pk,
        kind="mailbox.created" if mailbox is None else "mailbox.updated",
        actor=actor,
        occurred_at=at,
        is_new_subject=mailbox is None,
        before={k: v for k, v in before.items() if after.get(k) != v},
        after={k: v for k, v in after.items() if before.get(k) != v}
        | ({"password": "changed"} if data.get("password") and mailbox else {}),
    )
    return row


@transaction.atomic
def mailbox_delete(*, mailbox: Mailbox, actor: User, now: datetime | None = None) -> None:
    require_admin(actor)
    at = now or timezone.now()
    event_record(
        subject_type="mailbox",
        subject_id=mailbox.pk,
        kind="mailbox.deleted",
        actor=actor,
        occurred_at=at,
        before={"name": mailbox.name},
    )
    mailbox.delete()


def mailbox_poll_recorded(*, mailbox_id: int, stored: int, error: str, now: datetime) -> None:
    """What the poller found on its last turn (shown on the Channels page)."""
    Mailbox.objects.filter(pk=mailbox_id).update(last_polled_at=now, last_stored=stored, last_error=error[:2000])


def intake_secret_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[IntakeSecret]:
    require_admin(user)
    return IntakeSecret.objects.select_related("created_by").order_by("revoked_at", "-created_at", "-pk")


@transaction.atomic
def intake_secret_create(*, name: str, actor: User, now: datetime | None = None) -> IntakeSecret:
    """A new signing secret; the caller shows `secret` once."""
    require_admin(actor)
    clean = " ".join(name.split())
    if not 1 <= len(clean) <= 100:
        raise ValidationFailed.one("name", "Say what uses it, e.g. “Chat widget”, in 1 to 100 characters.")
    value = "isk_" + secrets.token_urlsafe(32)
    at = now or timezone.now()
    row = IntakeSecret.objects.create(name=clean, secret=value, prefix=value[:10], created_at=at, created_by=actor)
    event_record(
        subject_type="intake_secret",
        subject_id=row.pk,
        kind="intake_secret.created",
        actor=actor,
        occurred_at=at,
        is_new_subject=True,
        after={"name": clean, "prefix": row.prefix},
    )
    return row


@transaction.atomic
def intake_secret_revoke(*, secret_id: int, actor: User, now: datetime | None = None) -> IntakeSecret:
    require_admin(actor)
    row = IntakeSecret.objects.select_for_update().filter(pk=secret_id, revoked_at__isnull=True).first()
    if row is None:
        raise NotFound("There is no such active secret.")
    row.revoked_at = now or timezone.now()
    row.save(update_fields=["revoked_at"])
    event_record(
        subject_type="intake_secret", subject_id=row.pk, kind="intake_secret.revoked", actor=actor, occurred_at=row.revoked_at
    )
    return row


def intake_secrets_active() -> list[tuple[int | None, str]]:
    """(id, secret) of every secret that may sign an intake call; id None for the environment's."""
    found: list[tuple[int | None, str]] = [(None, settings.ESCALADA_INTAKE_SECRET)] if settings.ESCALADA_INTAKE_SECRET else []
    found += list(IntakeSecret.objects.filter(revoked_at__isnull=True).order_by("pk").values_list("pk", "secret"))
    return found


def intake_secret_used(*, secret_id: int, now: datetime) -> None:
    IntakeSecret.objects.filter(pk=secret_id).update(last_used_at=now)
