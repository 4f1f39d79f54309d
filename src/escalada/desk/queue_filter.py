"""The queue's filter and saved views: which of the queue's tickets to show — by who has them,
team, status, priority, severity, escalated or not — parsed from a query string with a
sentence per wrong field, and kept by name per person (`tickets.SavedView`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from escalada.accounts.models import Team
from escalada.base.errors import NotFound, ValidationFailed
from escalada.core.escalation import ACTIVE
from escalada.escalations.models import Escalation
from escalada.tickets.models import Priority, SavedView, Severity, Status, Ticket

ASSIGNED = {"me": "Mine", "none": "Unassigned", "others": "Someone else's"}
OPEN_CHOICES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
VIEWS_MAX = 30


@dataclass(frozen=True)
class QueueFilter:
    assigned: str = ""
    team: int | None = None
    status: str = ""
    priority: str = ""
    severity: str = ""
    escalated: str = ""  # "yes" | "no"

    def is_empty(self) -> bool:
        return self == QueueFilter()

    def as_query(self) -> dict[str, str]:
        return {f.name: str(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) not in ("", None)}

    def apply(self, tickets: QuerySet[Ticket], *, user: User) -> QuerySet[Ticket]:
        if self.assigned == "me":
            tickets = tickets.filter(assignee_id=user.pk)
        elif self.assigned == "none":
            tickets = tickets.filter(assignee__isnull=True)
        elif self.assigned == "others":
            tickets = tickets.filter(assignee__isnull=False).exclude(assignee_id=user.pk)
        if self.team is not None:
            tickets = tickets.filter(team_id=self.team)
        for name in ("status", "priority", "severity"):
            if getattr(self, name):
                tickets = tickets.filter(**{name: getattr(self, name)})
        if self.escalated:
            active = Exists(Escalation.objects.filter(ticket_id=OuterRef("pk"), status__in=[s.value for s in ACTIVE]))
            tickets = tickets.filter(active if self.escalated == "yes" else ~active)
        return tickets


def queue_filter_parse(data: Mapping[str, Any]) -> QueueFilter:
    errors: dict[str, str] = {}
    assigned = str(data.get("assigned") or "").strip()
    if assigned and assigned not in ASSIGNED:
        errors["assigned"] = f"Choose one of: {', '.join(ASSIGNED)}."
    team: int | None = None
    raw_team = str(data.get("team") or "").strip()
    if raw_team:
        if not (raw_team.isascii() and raw_team.isdigit()) or not Team.objects.filter(pk=int(raw_team)).exists():
            errors["team"] = "No such team."
        else:
            team = int(raw_team)
    found: dict[str, str] = {}
    for name, choices in (
        ("status", [s.value for s in OPEN_CHOICES]),
        ("priority", Priority.values),
        ("severity", Severity.values),
    ):
        value = str(data.get(name) or "").strip()
        if value and value not in choices:
            errors[name] = f"Choose one of: {', '.join(choices)}."
        found[name] = value
    escalated = str(data.get("escalated") or "").strip()
    if escalated and escalated not in ("yes", "no"):
        errors["escalated"] = "Choose yes or no."
    if errors:
        raise ValidationFailed(errors)
    return QueueFilter(assigned=assigned, team=team, escalated=escalated, **found)


@transaction.atomic
def saved_view_save(*, owner: User, name: str, data: Mapping[str, Any], now: datetime) -> SavedView:
    """Keep the filter under a name; the same name again replaces it."""
    clean = " ".join(name.split())
    if not 1 <= len(clean) <= 60:
        raise ValidationFailed.one("view_name", "Name the view in 1 to 60 characters.")
    chosen = queue_filter_parse(data)
    if chosen.is_empty():
        raise ValidationFailed.one("view_name", "Choose a filter first: a view of everything is the queue itself.")
    existing = SavedView.objects.select_for_update().filter(owner=owner, name=clean).first()
    if existing is None and SavedView.objects.filter(owner=owner).count() >= VIEWS_MAX:
        raise ValidationFailed.one("view_name", f"You have {VIEWS_MAX} views already; remove one first.")
    if existing is not None:
        existing.query = chosen.as_query()
        existing.save(update_fields=["query"])
        return existing
    return SavedView.objects.create(owner=owner, name=clean, query=chosen.as_query(), created_at=now)


def saved_view_delete(*, owner: User, view_id: int) -> None:
    deleted, _ = SavedView.objects.filter(owner=owner, pk=view_id).delete()
    if not deleted:
        raise NotFound("There is no such view of yours.")


def saved_views_of(owner: User) -> list[SavedView]:
    return list(SavedView.objects.filter(owner=owner).order_by("name"))


def filter_problem_free(data: Mapping[str, Any]) -> tuple[QueueFilter, dict[str, str]]:
    """The filter, or an empty one and the errors (a page shows them and the whole queue)."""
    try:
        return queue_filter_parse(data), {}
    except ValidationFailed as exc:
        return QueueFilter(), exc.errors
