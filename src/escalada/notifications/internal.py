"""Notifications inside the support organisation: who hears about what, and when.

`announce` is what the desk verbs and the SLA timer call for each event: it queues the webhook
calls (for other systems) and, for every active `NotificationRule` that matches the ticket's
team, category and severity, e-mails to the people it names and a chat message. A person's
quiet hours hold their e-mail until the hours end — except for sev1 tickets, which wake people.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import apprise
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from escalada.accounts.models import AgentProfile
from escalada.audit.services import event_record
from escalada.base.errors import ValidationFailed
from escalada.base.timezones import is_timezone
from escalada.core.quiet import quiet_until
from escalada.customers.services import email_problem
from escalada.notifications.batching import memo
from escalada.notifications.models import NotificationRule, OutboxChannel, OutboxMessage, QuietHours
from escalada.notifications.services import (
    EVENT_TYPES,
    _enqueue,
    active_subscriptions,
    email_enqueue,
    header_problem,
    webhooks_dispatch,
)
from escalada.tickets.models import Severity, Ticket

HEADLINES = {
    "ticket.created": "New ticket",
    "ticket.replied": "Customer replied",
    "ticket.note_added": "Internal note",
    "ticket.status_changed": "Status changed",
    "ticket.updated": "Ticket changed",
    "ticket.assigned": "Assigned",
    "sla.warning": "SLA warning",
    "sla.breached": "SLA breached",
    "escalation.level_fired": "Escalated",
    "escalation.opened": "Escalation opened",
    "escalation.raised": "Escalation raised",
    "escalation.transferred": "Transferred",
    "escalation.de_escalated": "De-escalated",
    "escalation.status_changed": "Escalation status changed",
    "escalation.approval_requested": "Sign-off requested",
    "escalation.approved": "Sign-off given",
    "escalation.rejected": "Sign-off refused",
    "escalation.resolved": "Escalation resolved",
    "escalation.reopened": "Escalation reopened",
    "escalation.risk_exceeded": "Risk above appetite",
}


def announce(*, kind: str, ticket: Ticket, data: dict[str, Any], now: datetime) -> None:
    """Queue everything `kind` on `ticket` causes: webhooks and internal notifications."""
    webhooks_dispatch(kind=kind, data=data, ticket=ticket, now=now)
    internal_notify(kind=kind, ticket=ticket, data=data, now=now)


def is_heard(kind: str) -> bool:
    """Whether `announce(kind=…)` could queue anything: an active webhook subscription to `kind`
    (or to every event) or an active notification rule for it. Read once per batch, like the
    rest of the configuration, so the storm path skips loading tickets nobody will hear about."""
    return memo(("is_heard", kind), lambda: _is_heard(kind))


def _is_heard(kind: str) -> bool:
    subscriptions, rules = active_subscriptions(), _active_rules()
    return any(kind in s.event_types or "*" in s.event_types for s in subscriptions) or any(kind in r.event_types for r in rules)


def _active_rules() -> list[NotificationRule]:
    return memo("notification_rules", lambda: list(NotificationRule.objects.filter(is_active=True).order_by("pk")))


def _team_leads(team_id: int) -> list[User]:
    profiles = AgentProfile.objects.select_related("user").filter(user__is_active=True, is_team_lead=True, teams=team_id)
    return memo(("team_leads", team_id), lambda: [profile.user for profile in profiles])


def _escalation_managers() -> list[User]:
    profiles = AgentProfile.objects.select_related("user").filter(user__is_active=True, is_escalation_manager=True)
    return memo("escalation_managers", lambda: [profile.user for profile in profiles])


def _quiet_hours(user: User) -> QuietHours | None:
    return memo(("quiet_hours", user.pk), lambda: QuietHours.objects.filter(user=user).first())


def _recipients(rule: NotificationRule, ticket: Ticket) -> tuple[list[User], list[str]]:
    users: dict[int, User] = {}
    if rule.notify_assignee and ticket.assignee is not None:
        users[ticket.assignee.pk] = ticket.assignee
    if rule.notify_team_leads and ticket.team_id is not None:
        users.update({user.pk: user for user in _team_leads(ticket.team_id)})
    if rule.notify_escalation_managers:
        users.update({user.pk: user for user in _escalation_managers()})
    users.update({user.pk: user for user in memo(("rule_users", rule.pk), lambda: list(rule.users.filter(is_active=True)))})
    return list(users.values()), list(rule.emails)


def _matches(rule: NotificationRule, kind: str, ticket: Ticket) -> bool:
    return (
        kind in rule.event_types
        and (rule.team_id is None or rule.team_id == ticket.team_id)
        and (rule.category_id is None or rule.category_id == ticket.category_id)
        and (not rule.severities or ticket.severity in rule.severities)
    )


def _text(kind: str, ticket: Ticket, data: dict[str, Any]) -> tuple[str, str]:
    headline = HEADLINES.get(kind, kind)
    metric = f" ({str(data['metric']).replace('_', ' ')})" if "metric" in data else ""
    subject = f"[#{ticket.number}] {headline}{metric}: {ticket.subject}"[:250]
    link = f"{settings.BASE_URL.rstrip('/')}/tickets/{ticket.pk}/"
    lines = [
        f"{headline}{metric} on ticket #{ticket.number}: {ticket.subject}",
        f"Priority {ticket.priority}, severity {ticket.severity}, status {ticket.status}.",
    ]
    if "due_at" in data:
        lines.append(f"Due: {data['due_at']}")
    lines += ["", link]
    return subject, "\n".join(lines)


def _mail_people(
    *, kind: str, ticket: Ticket, users: list[User], emails: list[str], subject: str, body: str, key: str, now: datetime
) -> int:
    """E-mail each person once; a person's quiet hours hold their mail until the hours end,
    except for sev1 tickets. Stakeholder addresses have no quiet hours. Returns how many."""
    addresses: dict[str, datetime] = {}
    for user in users:
        if not user.email:
            continue
        hours = _quiet_hours(user)
        wait = None
        if hours is not None and ticket.severity != Severity.SEV1:
            wait = quiet_until(now=now, start=hours.start, end=hours.end, zone=hours.time_zone)
        addresses[user.email.lower()] = wait or now
    for address in emails:
        addresses.setdefault(address.lower(), now)
    for address, send_at in addresses.items():
        email_enqueue(
            kind=kind,
            to=address,
            subject=subject,
            body_text=body,
            ticket=ticket,
            idempotency_key=f"{key}:{address}",
            now=now,
            send_at=send_at,
        )
    return len(addresses)


def people_notify(
    *, kind: str, ticket: Ticket, users: list[User], emails: list[str], lines: list[str], key: str, now: datetime
) -> int:
    """Mail named people about `kind` on `ticket` (an escalation's owner, contributors,
    approvers, executives), with the usual quiet hours; `lines` go above the ticket summary."""
    subject, body = _text(kind, ticket, {})
    return _mail_people(
        kind=f"internal.{kind}",
        ticket=ticket,
        users=users,
        emails=emails,
        subject=subject,
        body="\n".join([*lines, "", body]),
        key=key,
        now=now,
    )


def internal_notify(*, kind: str, ticket: Ticket, data: dict[str, Any], now: datetime) -> int:
    """Queue the e-mails and chat messages of every matching rule; returns how many."""
    queued = 0
    subject, body = _text(kind, ticket, data)
    event_id = uuid.uuid4().hex
    for rule in _active_rules():
        if not _matches(rule, kind, ticket):
            continue
        users, emails = _recipients(rule, ticket)
        queued += _mail_people(
            kind=f"internal.{kind}",
            ticket=ticket,
            users=users,
            emails=emails,
            subject=subject,
            body=body,
            key=f"rule:{rule.pk}:{event_id}",
            now=now,
        )
        if rule.chat_url:
            _enqueue(
                OutboxMessage(
                    kind=f"internal.{kind}",
                    channel=OutboxChannel.CHAT,
                    recipient=rule.chat_url,
                    subject=subject,
                    body_text=body,
                    idempotency_key=f"rule:{rule.pk}:{event_id}:chat",
                    ticket=ticket,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
            queued += 1
    return queued


# --- rules and quiet hours ----------------------------------------------------------------------

RULE_FIELDS = (
    "name",
    "event_types",
    "team",
    "category",
    "severities",
    "notify_assignee",
    "notify_team_leads",
    "notify_escalation_managers",
    "users",
    "emails",
    "chat_url",
)


def _check_rule(data: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = " ".join(str(data.get("name", "")).split())
    if not 1 <= len(name) <= 100:
        errors["name"] = "Give the rule a name of 1 to 100 characters."
    elif NotificationRule.objects.filter(name__iexact=name).exists():
        errors["name"] = f"A rule named {name!r} exists already."
    kinds = data.get("event_types") or []
    unknown = [k for k in kinds if k not in EVENT_TYPES]
    if not kinds or unknown:
        errors["event_types"] = f"Choose events among {', '.join(EVENT_TYPES)}" + (
            f"; not {', '.join(unknown)}." if unknown else "."
        )
    bad_severities = [s for s in data.get("severities") or [] if s not in Severity.values]
    if bad_severities:
        errors["severities"] = f"Severities are {', '.join(Severity.values)}; not {', '.join(map(str, bad_severities))}."
    for index, address in enumerate(data.get("emails") or []):
        problem = email_problem(address) or header_problem(address)
        if problem:
            errors[f"emails[{index}]"] = problem
    chat_url = data.get("chat_url") or ""
    if chat_url and not apprise.Apprise().add(chat_url):
        errors["chat_url"] = (
            "Not a chat URL apprise understands (e.g. slack://…, msteams://…, discord://…); see the apprise documentation."
        )
    has_someone = any(
        data.get(k) for k in ("notify_assignee", "notify_team_leads", "notify_escalation_managers", "users", "emails", "chat_url")
    )
    if not has_someone:
        errors["recipients"] = (
            "Say who hears it: the assignee, team leads, escalation managers, named users, e-mail addresses or a chat URL."
        )
    return errors


@transaction.atomic
def notification_rule_create(*, data: dict[str, Any], actor: User | None, now: datetime | None = None) -> NotificationRule:
    errors = _check_rule(data)
    if errors:
        raise ValidationFailed(errors)
    at = now or timezone.now()
    rule = NotificationRule.objects.create(
        name=" ".join(str(data["name"]).split()),
        event_types=sorted(set(data["event_types"])),
        team=data.get("team"),
        category=data.get("category"),
        severities=sorted(set(data.get("severities") or [])),
        notify_assignee=bool(data.get("notify_assignee")),
        notify_team_leads=bool(data.get("notify_team_leads")),
        notify_escalation_managers=bool(data.get("notify_escalation_managers")),
        emails=[a.strip().lower() for a in data.get("emails") or []],
        chat_url=data.get("chat_url") or "",
        created_at=at,
    )
    rule.users.set(data.get("users") or [])
    event_record(
        subject_type="notification_rule",
        subject_id=rule.pk,
        kind="notification_rule.created",
        is_new_subject=True,
        actor=actor,
        occurred_at=at,
        after={"name": rule.name, "event_types": rule.event_types, "team_id": rule.team_id, "severities": rule.severities},
    )
    return rule


@transaction.atomic
def notification_rule_delete(*, rule: NotificationRule, actor: User | None, now: datetime | None = None) -> None:
    event_record(
        subject_type="notification_rule",
        subject_id=rule.pk,
        kind="notification_rule.deleted",
        actor=actor,
        occurred_at=now or timezone.now(),
        before={"name": rule.name, "event_types": rule.event_types},
    )
    rule.delete()


@transaction.atomic
def quiet_hours_set(*, user: User, start: Any, end: Any, time_zone: str) -> QuietHours | None:
    """Set a person's quiet hours (None for start and end removes them)."""
    if start is None and end is None:
        QuietHours.objects.filter(user=user).delete()
        return None
    errors = {}
    if start is None or end is None:
        errors["start" if start is None else "end"] = "Give both the start and the end of your quiet hours."
    if not is_timezone(time_zone):
        errors["time_zone"] = f"{time_zone!r} is not an IANA time zone such as Europe/Berlin."
    if errors:
        raise ValidationFailed(errors)
    hours, _ = QuietHours.objects.update_or_create(user=user, defaults={"start": start, "end": end, "time_zone": time_zone})
    return hours


def escalation_notify(
    *, ticket: Ticket, level: int, roles: list[str], user_ids: list[int], emails: list[str], now: datetime
) -> int:
    """A ladder level's notification: e-mail to the ticket's assignee, team leads or escalation
    managers, named users and addresses; quiet hours hold it except for sev1."""
    users: dict[int, User] = {}
    if "assignee" in roles and ticket.assignee is not None:
        users[ticket.assignee.pk] = ticket.assignee
    if "team_leads" in roles and ticket.team_id is not None:
        users.update({user.pk: user for user in _team_leads(ticket.team_id)})
    if "escalation_managers" in roles:
        users.update({user.pk: user for user in _escalation_managers()})
    if user_ids:
        named = memo(("users", tuple(user_ids)), lambda: list(User.objects.filter(pk__in=user_ids, is_active=True)))
        users.update({u.pk: u for u in named})
    subject = f"[#{ticket.number}] Escalation level {level + 1}: {ticket.subject}"[:250]
    _, body = _text("escalation.level_fired", ticket, {})
    body = f"Escalation level {level + 1} fired.\n" + body
    return _mail_people(
        kind="internal.escalation.level_fired",
        ticket=ticket,
        users=list(users.values()),
        emails=emails,
        subject=subject,
        body=body,
        key=f"ladder:{ticket.pk}:{level}:{uuid.uuid4().hex}",
        now=now,
    )
