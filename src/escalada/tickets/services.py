"""Writes on tickets. Each public function is one transaction and records exactly one Event
on the ticket's stream, holding everything that call changed."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, TypedDict

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from escalada.accounts.models import AgentProfile, Role, Team
from escalada.accounts.selectors import user_role
from escalada.audit.services import event_record
from escalada.base.errors import Conflict, ValidationFailed, duplicates_refused
from escalada.base.html import html_to_text, sanitize_html, text_to_html
from escalada.core import status as workflow
from escalada.customers.models import Contact
from escalada.tickets.models import (
    Category,
    Channel,
    Message,
    Priority,
    SatisfactionRating,
    Severity,
    Status,
    Tag,
    Ticket,
    Visibility,
)

MAX_TAGS = 20
_TAG_ALLOWED = re.compile(r"^[a-z0-9][a-z0-9 _.:-]{0,49}$")
SUBJECT_MAX = 250
BODY_MAX = 200_000


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def normalize_tags(raw: list[str], *, field: str = "tags") -> list[str]:
    tags: list[str] = []
    for item in raw:
        tag = " ".join(item.strip().lower().split())
        if not _TAG_ALLOWED.match(tag):
            raise ValidationFailed.one(field, f"{item!r} is not a tag: use up to 50 letters, digits, spaces, - _ . :")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationFailed.one(field, f"A ticket has at most {MAX_TAGS} tags.")
    return tags


def _set_tags(ticket: Ticket, tags: list[str]) -> None:
    existing = {t.name: t for t in Tag.objects.filter(name__in=tags)}
    missing = [Tag(name=name) for name in tags if name not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name: t for t in Tag.objects.filter(name__in=tags)}
    ticket.tags.set([existing[name] for name in tags])


def _body(*, text: str | None, html: str | None, field: str) -> tuple[str, str]:
    """(safe html, plain text) of a body given as text, as HTML, or both."""
    if html:
        # The text is always derived from the HTML, so the two can never tell different stories.
        safe = sanitize_html(html)
        plain = html_to_text(safe)
    elif text:
        safe, plain = text_to_html(text), text
    else:
        raise ValidationFailed.one(field, "Write something; the body is empty.")
    if not plain.strip():
        raise ValidationFailed.one(field, "Write something; the body is empty once markup is removed.")
    if len(plain) > BODY_MAX or len(safe) > BODY_MAX * 2:
        raise ValidationFailed.one(field, f"A body holds at most {BODY_MAX} characters.")
    return safe, plain


def _lock(ticket: Ticket) -> Ticket:
    # Serialises writers on one ticket so its event chain and counters stay exact.
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _check_assignment(team: Team | None, assignee: User | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if assignee is None:
        return errors
    profile = AgentProfile.objects.filter(user=assignee).first()
    if profile is None or not assignee.is_active:
        errors["assignee_id"] = f"{assignee.get_username()} is not an active agent."
    elif team is not None and not profile.is_escalation_manager and not profile.teams.filter(pk=team.pk).exists():
        # Escalation managers own escalations across teams, so they may hold any team's ticket.
        errors["assignee_id"] = f"{assignee.get_username()} is not in team {team.name}."
    return errors


def ticket_create_problems(
    *,
    subject: str,
    description: str | None,
    description_html: str | None,
    channel: str,
    priority: str,
    severity: str,
    team: Team | None,
    assignee: User | None,
    tags: list[str] | None,
) -> dict[str, str]:
    """Every reason `ticket_create` would refuse these values, by field; empty when none.

    Faces that resolve other fields first (the requester, ids) merge their own errors with
    these, so a client learns about every bad field in one answer.
    """
    errors: dict[str, str] = {}
    subject = " ".join(subject.split())
    if not subject:
        errors["subject"] = "Give the ticket a subject."
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = f"A subject has at most {SUBJECT_MAX} characters."
    if channel not in Channel.values:
        errors["channel"] = f"Channel is one of {', '.join(Channel.values)}."
    if priority not in Priority.values:
        errors["priority"] = f"Priority is one of {', '.join(Priority.values)}."
    if severity not in Severity.values:
        errors["severity"] = f"Severity is one of {', '.join(Severity.values)}."
    errors.update(_check_assignment(team, assignee))
    for check in (
        lambda: _body(text=description, html=description_html, field="description"),
        lambda: normalize_tags(tags or []),
    ):
        try:
            check()
        except ValidationFailed as exc:
            errors.update(exc.errors)
    return errors


@transaction.atomic
def ticket_create(
    *,
    subject: str,
    description: str | None,
    requester: Contact,
    channel: str,
    actor: User | None,
    description_html: str | None = None,
    priority: str = Priority.NORMAL,
    severity: str = Severity.SEV3,
    category: Category | None = None,
    team: Team | None = None,
    assignee: User | None = None,
    tags: list[str] | None = None,
    external_message_id: str | None = None,
    follow_up_of: Ticket | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Open a ticket from any channel; the description becomes the first public message."""
    errors = ticket_create_problems(
        subject=subject,
        description=description,
        description_html=description_html,
        channel=channel,
        priority=priority,
        severity=severity,
        team=team,
        assignee=assignee,
        tags=tags,
    )
    if errors:
        raise ValidationFailed(errors)
    subject = " ".join(subject.split())
    body_html, body_text = _body(text=description, html=description_html, field="description")
    tag_names = normalize_tags(tags or [])

    at = _now(now)
    ticket = Ticket.objects.create(
        subject=subject,
        description=body_text,
        channel=channel,
        requester=requester,
        organization=requester.organization,
        category=category,
        priority=priority,
        severity=severity,
        team=team,
        assignee=assignee,
        created_by=actor,
        created_at=at,
        updated_at=at,
        last_customer_message_at=at,
        follow_up_of=follow_up_of,
    )
    # The number is the row id: unique, gap-tolerant, and no hot counter row to contend on.
    ticket.number = ticket.pk
    Ticket.objects.filter(pk=ticket.pk).update(number=ticket.pk)
    if tag_names:
        _set_tags(ticket, tag_names)
    message = Message.objects.create(
        ticket=ticket,
        author_contact=requester,
        visibility=Visibility.PUBLIC,
        body_html=body_html,
        body_text=body_text,
        channel=channel,
        external_message_id=external_message_id,
        created_at=at,
    )
    event_record(
        subject_type="ticket",
        subject_id=ticket.pk,
        kind="ticket.created",
        is_new_subject=True,
        actor=actor,
        occurred_at=at,
        after={
            "number": ticket.number,
            "subject": subject,
            "channel": channel,
            "requester_id": requester.pk,
            "organization_id": requester.organization_id,
            "category": category.slug if category else None,
            "priority": priority,
            "severity": severity,
            "status": ticket.status,
            "team_id": team.pk if team else None,
            "assignee_id": assignee.pk if assignee else None,
            "tags": tag_names,
            "message_id": message.pk,
            **({"follow_up_of": follow_up_of.number} if follow_up_of else {}),
        },
    )
    return ticket


class TicketChanges(TypedDict, total=False):
    subject: str
    category: Category | None
    priority: str
    severity: str
    tags: list[str]


def _field_value(ticket: Ticket, name: str) -> Any:
    if name == "category":
        return ticket.category.slug if ticket.category else None
    if name == "tags":
        return sorted(ticket.tags.values_list("name", flat=True))
    return getattr(ticket, name)


@transaction.atomic
def ticket_update(*, ticket: Ticket, changes: TicketChanges, actor: User | None, now: datetime | None = None) -> Ticket:
    """Change subject, category, priority, severity or tags; one `ticket.updated` event."""
    errors: dict[str, str] = {}
    if "subject" in changes:
        changes["subject"] = " ".join(changes["subject"].split())
        if not changes["subject"] or len(changes["subject"]) > SUBJECT_MAX:
            errors["subject"] = f"A subject has 1 to {SUBJECT_MAX} characters."
    if "priority" in changes and changes["priority"] not in Priority.values:
        errors["priority"] = f"Priority is one of {', '.join(Priority.values)}."
    if "severity" in changes and changes["severity"] not in Severity.values:
        errors["severity"] = f"Severity is one of {', '.join(Severity.values)}."
    if "tags" in changes:
        try:
            changes["tags"] = normalize_tags(changes["tags"])
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    ticket = _lock(ticket)
    before = {name: _field_value(ticket, name) for name in changes}
    for name in ("subject", "category", "priority", "severity"):
        if name in changes:
            setattr(ticket, name, changes[name])
    after_values = {name: _field_value(ticket, name) for name in changes if name != "tags"}
    if "tags" in changes:
        after_values["tags"] = sorted(changes["tags"])
    changed = [name for name in changes if before[name] != after_values[name]]
    if not changed:
        return ticket
    if "tags" in changed:
        _set_tags(ticket, changes["tags"])
    ticket.updated_at = _now(now)
    ticket.save(update_fields=[*(n for n in changed if n != "tags"), "updated_at"])
    event_record(
        subject_type="ticket",
        subject_id=ticket.pk,
        kind="ticket.updated",
        actor=actor,
        occurred_at=ticket.updated_at,
        before={n: before[n] for n in changed},
        after={n: after_values[n] for n in changed},
    )
    return ticket


def _status_fields(ticket: Ticket, target: workflow.Status, at: datetime) -> list[str]:
    """Move to `target` (already validated) and return the fields that changed."""
    fields = ["status"]
    verdict = workflow.transition(workflow.Status(ticket.status), target)
    ticket.status = target.value
    if verdict.is_reopen:
        ticket.reopen_count += 1
        ticket.solved_at = None
        fields += ["reopen_count", "solved_at"]
    if target == workflow.Status.SOLVED:
        ticket.solved_at = at
        fields.append("solved_at")
    if target == workflow.Status.CLOSED:
        ticket.closed_at = at
        fields.append("closed_at")
    return fields


@transaction.atomic
def ticket_change_status(*, ticket: Ticket, status: str, actor: User | None, now: datetime | None = None) -> Ticket:
    if status not in Status.values:
        raise ValidationFailed.one("status", f"Status is one of {', '.join(Status.values)}.")
    ticket = _lock(ticket)
    target = workflow.Status(status)
    verdict = workflow.transition(workflow.Status(ticket.status), target)
    if not verdict.allowed:
        raise ValidationFailed.one("status", verdict.reason)
    at = _now(now)
    before = {"status": ticket.status, "reopen_count": ticket.reopen_count}
    fields = _status_fields(ticket, target, at)
    ticket.updated_at = at
    ticket.save(update_fields=[*dict.fromkeys(fields), "updated_at"])
    event_record(
        subject_type="ticket",
        subject_id=ticket.pk,
        kind="ticket.reopened" if verdict.is_reopen else "ticket.status_changed",
        actor=actor,
        occurred_at=at,
        before=before,
        after={"status": ticket.status, "reopen_count": ticket.reopen_count},
    )
    return ticket


@transaction.atomic
def ticket_assign(
    *, ticket: Ticket, team: Team | None, assignee: User | None, actor: User | None, now: datetime | None = None
) -> Ticket:
    """Set the team and the assignee together (either may be None to clear it)."""
    errors = _check_assignment(team, assignee)
    if errors:
        raise ValidationFailed(errors)
    ticket = _lock(ticket)
    before = {"team_id": ticket.team_id, "assignee_id": ticket.assignee_id}
    after = {"team_id": team.pk if team else None, "assignee_id": assignee.pk if assignee else None}
    if before == after:
        return ticket
    ticket.team = team
    ticket.assignee = assignee
    ticket.updated_at = _now(now)
    ticket.save(update_fields=["team", "assignee", "updated_at"])
    event_record(
        subject_type="ticket",
        subject_id=ticket.pk,
        kind="ticket.assigned",
        actor=actor,
        occurred_at=ticket.updated_at,
        before=before,
        after=after,
    )
    return ticket


@transaction.atomic
def ticket_set_tier(*, ticket: Ticket, tier: int, actor: User | None, now: datetime | None = None) -> Ticket:
    """Move the ticket to a support tier (L1…Ln) of its team."""
    top = ticket.team.tier_count if ticket.team else 9
    if not 1 <= tier <= top:
        raise ValidationFailed.one("tier", f"The tier is from 1 to {top}.")
    ticket = _lock(ticket)
    if ticket.tier == tier:
        return ticket
    before = {"tier": ticket.tier}
    ticket.tier, ticket.updated_at = tier, _now(now)
    ticket.save(update_fields=["tier", "updated_at"])
    event_record(
        subject_type="ticket",
        subject_id=ticket.pk,
        kind="ticket.tier_changed",
        actor=actor,
        occurred_at=ticket.updated_at,
        before=before,
        after={"tier": tier},
    )
    return ticket


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    actor: User | None,
    body: str | None,
    body_html: str | None = None,
    visibility: str = Visibility.PUBLIC,
    channel: str = Channel.WEB,
    status: str | None = None,
    author_contact: Contact | None = None,
    external_message_id: str | None = None,
    now: datetime | None = None,
) -> Message:
    """Add a public reply or an internal note; moves the status the way the message implies.

    A customer's message (`author_contact`, or an actor who is a customer) is public and takes
    a pending or solved ticket back to open (a reopen when it was solved); an agent's public
    reply takes a new ticket to open, or to `status` when the agent chose one ("reply and set
    pending"). A closed ticket takes no messages.
    """
    role = user_role(user=actor) if actor is not None else None
    is_customer = author_contact is not None or role == Role.CUSTOMER
    if actor is None and author_contact is None:
        raise ValidationFailed.one("author", "A message needs an author: an agent, or the contact who wrote it.")
    errors: dict[str, str] = {}
    if visibility not in Visibility.values:
        errors["visibility"] = f"Visibility is one of {', '.join(Visibility.values)}."
    elif is_customer and visibility == Visibility.INTERNAL:
        errors["visibility"] = "Customers write public replies only."
    if channel not in Channel.values:
        errors["channel"] = f"Channel is one of {', '.join(Channel.values)}."
    if status is not None and (is_customer or status not in Status.values):
        errors["status"] = "Customers cannot set a status." if is_customer else f"Status is one of {', '.join(Status.values)}."
    try:
        safe_html, plain = _body(text=body, html=body_html, field="body")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    ticket = _lock(ticket)
    if ticket.status == Status.CLOSED:
        raise Conflict("This ticket is closed; open a follow-up ticket instead.")

    at = _now(now)
    current = workflow.Status(ticket.status)
    if is_customer:
        target = workflow.status_after_customer_message(current)
    elif visibility == Visibility.PUBLIC:
        target = workflow.Status(status) if status else workflow.status_after_agent_reply(current)
    else:
        target = workflow.Status(status) if status else current
    if target != current:
        verdict = workflow.transition(current, target)
        if not verdict.allowed:
            raise ValidationFailed.one("status", verdict.reason)

    contact = author_contact
    if is_customer and contact is None:
        contact = Contact.objects.filter(user=actor).first()
        if contact is None:
            raise ValidationFailed.one("author", "This customer account is not linked to a contact.")
    message = Message.objects.create(
        ticket=ticket,
        author_user=None if is_customer else actor,
        author_contact=contact if is_customer else None,
        visibility=visibility,
        body_html=safe_html,
        body_text=plain,
        channel=channel,
        external_message_id=external_message_id,
        created_at=at,
    )
    before: dict[str, Any] = {"status": ticket.status, "reopen_count": ticket.reopen_count}
    fields = ["updated_at"]
    if target != current:
        fields += _status_fields(ticket, target, at)
    if is_customer:
        ticket.last_customer_message_at = at
        fields.append("last_customer_message_at")
    elif visibility == Visibility.PUBLIC:
        ticket.last_agent_reply_at = at
        fields.append("last_agent_reply_at")
    ticket.updated_at = at
    ticket.save(update_fields=list(dict.fromkeys(fields)))
    after: dict[str, Any] = {"status": ticket.status, "reopen_count": ticket.reopen_count}
    changed_keys = [k for k in after if before[k] != after[k]]
    event_record(
        subject_type="ticket",
        subject_id=ticket.pk,
        kind="ticket.note_added" if visibility == Visibility.INTERNAL else "ticket.replied",
        actor=actor,
        occurred_at=at,
        before={k: before[k] for k in changed_keys},
        after={
            "message_id": message.pk,
            "visibility": visibility,
            "author": "customer" if is_customer else "agent",
            **{k: after[k] for k in changed_keys},
        },
    )
    return message


@transaction.atomic
def category_create(*, name: str, actor: User | None) -> Category:
    """A ticket category (billing, technical…); its slug is what APIs and policies use."""
    name = " ".join(name.split())
    slug = slugify(name)
    if not name or not slug or len(name) > 100:
        raise ValidationFailed.one("name", "Give the category a name of 1 to 100 characters.")
    if Category.objects.filter(slug=slug).exists() or Category.objects.filter(name__iexact=name).exists():
        raise ValidationFailed.one("name", f"A category named {name!r} exists already.")
    with duplicates_refused(dict, field="name", message=f"A category named {name!r} exists already."):
        category = Category.objects.create(name=name, slug=slug)
    event_record(
        subject_type="category",
        subject_id=category.pk,
        kind="category.created",
        is_new_subject=True,
        actor=actor,
        after={"name": name, "slug": slug},
    )
    return category


COMMENT_MAX = 5000


@transaction.atomic
def ticket_rate(*, ticket: Ticket, contact: Contact, score: int, comment: str, now: datetime | None = None) -> SatisfactionRating:
    """The customer rates the resolution: once per solve, only once it is solved (or closed)."""
    errors: dict[str, str] = {}
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        errors["score"] = "Choose from 1 (very unhappy) to 5 (very happy)."
    if len(comment) > COMMENT_MAX:
        errors["comment"] = f"At most {COMMENT_MAX:,} characters."
    if errors:
        raise ValidationFailed(errors)
    ticket = _lock(ticket)
    if ticket.status not in (Status.SOLVED, Status.CLOSED):
        raise Conflict("You can rate the resolution once the request is solved.")
    if SatisfactionRating.objects.filter(ticket=ticket, round=ticket.reopen_count).exists():
        raise Conflict("You rated this resolution already. Thank you!")
    at = _now(now)
    rating = SatisfactionRating.objects.create(
        ticket=ticket, round=ticket.reopen_count, score=score, comment=comment.strip(), contact=contact, rated_at=at
    )
    event_record(
        subject_type="ticket",
        subject_id=ticket.pk,
        kind="ticket.rated",
        actor=contact.user,
        occurred_at=at,
        after={"score": score, "comment": rating.comment, "round": rating.round},
    )
    return rating
