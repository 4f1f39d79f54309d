"""Macros: canned replies with variables. Templates see plain values, never rows (as the
customer e-mail templates do), so a macro cannot reach fields it should not.

| variable | value |
|---|---|
| `ticket.number`, `ticket.subject`, `ticket.status`, `ticket.priority` | the ticket |
| `requester.name`, `requester.first_name`, `requester.email` | who asked |
| `organization.name` | their organization ("" without one) |
| `agent.name`, `agent.first_name` | the agent using the macro |
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template import TemplateSyntaxError, engines

from escalada.accounts.models import Team
from escalada.accounts.selectors import team_ids_of
from escalada.audit.services import event_record
from escalada.base.errors import ValidationFailed
from escalada.tickets.models import Macro, Status, Ticket, Visibility

BODY_MAX = 20_000


def macro_context(*, ticket: Ticket, agent: User | None) -> dict[str, Any]:
    name = ticket.requester.name.strip()
    agent_name = (agent.get_full_name() or agent.get_username()) if agent is not None else "Support"
    return {
        "ticket": {
            "number": ticket.number,
            "subject": ticket.subject,
            "status": ticket.get_status_display(),
            "priority": ticket.get_priority_display(),
        },
        "requester": {"name": name, "first_name": name.split(" ")[0] if name else "", "email": ticket.requester.email},
        "organization": {"name": ticket.organization.name if ticket.organization else ""},
        "agent": {"name": agent_name, "first_name": (agent.first_name if agent is not None else "") or agent_name},
    }


def macro_render(*, macro: Macro, ticket: Ticket, agent: User | None) -> str:
    source = "{% autoescape off %}" + macro.body + "{% endautoescape %}"
    return str(engines["django"].from_string(source).render(macro_context(ticket=ticket, agent=agent))).strip()


def _problems(data: dict[str, Any], *, instance: Macro | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if "name" in data or instance is None:
        name = " ".join(str(data.get("name") or "").split())
        if not 1 <= len(name) <= 100:
            errors["name"] = "Give the macro a name of 1 to 100 characters."
        elif Macro.objects.filter(name__iexact=name).exclude(pk=instance.pk if instance else 0).exists():
            errors["name"] = f"A macro named {name!r} exists already."
    if "body" in data or instance is None:
        body = str(data.get("body") or "")
        if not body.strip():
            errors["body"] = "Write the reply the macro inserts."
        elif len(body) > BODY_MAX:
            errors["body"] = f"At most {BODY_MAX:,} characters."
        else:
            try:
                engines["django"].from_string(body)
            except TemplateSyntaxError as exc:
                errors["body"] = f"Template syntax error: {exc}"
    if data.get("visibility") not in (None, *Visibility.values):
        errors["visibility"] = f"One of {', '.join(Visibility.values)}."
    team_id = data.get("team_id")
    if team_id is not None and (isinstance(team_id, bool) or not Team.objects.filter(pk=team_id).exists()):
        errors["team_id"] = "No such team; leave it empty for a macro every team may use."
    if data.get("set_status") not in (None, "", *Status.values):
        errors["set_status"] = f"One of {', '.join(Status.values)}, or empty to keep the status."
    return errors


@transaction.atomic
def macro_save(*, macro: Macro | None, data: dict[str, Any], actor: User | None, now: datetime) -> Macro:
    errors = _problems(data, instance=macro)
    if errors:
        raise ValidationFailed(errors)
    row = macro or Macro(updated_at=now)
    if "name" in data:
        row.name = " ".join(str(data["name"]).split())
    if "body" in data:
        row.body = str(data["body"])
    for name in ("visibility", "set_status", "is_active"):
        if data.get(name) is not None:
            setattr(row, name, data[name])
    if "team_id" in data:
        row.team_id = data["team_id"]
    row.updated_at = now
    row.save()
    event_record(
        subject_type="macro",
        subject_id=row.pk,
        kind="macro.saved",
        actor=actor,
        occurred_at=now,
        after={
            "name": row.name,
            "visibility": row.visibility,
            "set_status": row.set_status,
            "is_active": row.is_active,
            "team_id": row.team_id,
        },
        is_new_subject=macro is None,
    )
    return row


def macros_available(*, user: AbstractBaseUser | AnonymousUser, ticket: Ticket) -> QuerySet[Macro]:
    """The active macros this person may use on this ticket: everyone's, the ticket's team's and
    their own teams'."""
    teams = {*team_ids_of(user=user), *([ticket.team_id] if ticket.team_id else [])}
    return Macro.objects.filter(Q(team__isnull=True) | Q(team_id__in=teams), is_active=True).order_by("name")
