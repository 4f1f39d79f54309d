"""Writes on what admins configure for escalations: the lists (reasons, decision categories,
root-cause categories), the escalation matrix, playbooks, sign-off rules and the settings
(risk appetite, executive list, escalate on the Nth reopen). Every problem is named by field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Model
from django.utils.text import slugify

from escalada.accounts.models import Role, Team
from escalada.audit.services import event_record
from escalada.base.errors import ValidationFailed
from escalada.core.escalation import LevelRole
from escalada.customers.services import email_problem
from escalada.escalations.models import (
    ApprovalRule,
    DecisionCategory,
    EscalationSettings,
    MatrixCell,
    Playbook,
    Reason,
    RootCauseCategory,
)
from escalada.escalations.records import escalation_settings
from escalada.tickets.models import Severity

LISTS: dict[str, type[Reason] | type[DecisionCategory] | type[RootCauseCategory]] = {
    "reasons": Reason,
    "decision-categories": DecisionCategory,
    "root-cause-categories": RootCauseCategory,
}
APPROVER_ROLES = (Role.TEAM_LEAD.value, Role.ESCALATION_MANAGER.value, Role.ADMIN.value)
MAX_RESPONSE_MINUTES = 525_600  # a year


DEFAULT_LISTS: dict[str, list[tuple[str, str]]] = {
    "reasons": [
        ("SLA breach", "sla-breach"),
        ("Customer request", "customer-request"),
        ("Lack of progress", "lack-of-progress"),
        ("Executive visibility", "executive-visibility"),
        ("Technical expertise needed", "technical-expertise-needed"),
        ("Billing dispute", "billing-dispute"),
        ("Reopened", "reopened"),
    ],
    "decision-categories": [
        ("Security", "security"),
        ("Outage", "outage"),
        ("Technical", "technical"),
        ("Billing / financial", "billing-financial"),
        ("Functional", "functional"),
        ("Staffing", "staffing"),
    ],
    "root-cause-categories": [
        ("Product defect", "product-defect"),
        ("Documentation gap", "documentation-gap"),
        ("Process", "process"),
        ("Training", "training"),
        ("Third party", "third-party"),
        ("Capacity / staffing", "capacity-staffing"),
        ("Customer environment", "customer-environment"),
    ],
}


def default_lists_ensure() -> None:
    """The lists support teams start from (the migration seeds them too); missing entries are
    added back, existing ones — renamed or retired by an admin — are left as they are."""
    for kind, rows in DEFAULT_LISTS.items():
        model = LISTS[kind]
        for rank, (name, slug) in enumerate(rows, start=1):
            model.objects.get_or_create(slug=slug, defaults={"name": name, "rank": rank * 10})
    escalation_settings()


def _audit(kind: str, row: Model, actor: User | None, now: datetime, after: dict[str, Any], *, is_new: bool) -> None:
    event_record(
        subject_type=row._meta.model_name or "config",
        subject_id=int(row.pk),
        kind=kind,
        actor=actor,
        occurred_at=now,
        after=after,
        is_new_subject=is_new,
    )


@transaction.atomic
def list_item_save(
    *, kind: str, item_id: int | None, name: str, rank: int | None, is_active: bool | None, actor: User | None, now: datetime
) -> Reason | DecisionCategory | RootCauseCategory:
    """Add or rename an entry of an admin-edited list. The slug is fixed once made (rows and
    reports refer to it); renaming changes only what people read."""
    model = LISTS[kind]
    clean = " ".join(name.split())
    if not 1 <= len(clean) <= 100:
        raise ValidationFailed.one("name", "Give a name of 1 to 100 characters.")
    clash = model.objects.filter(name__iexact=clean).exclude(pk=item_id or 0)
    if clash.exists():
        raise ValidationFailed.one("name", f"{clean!r} is on the list already.")
    if item_id is None:
        slug = slugify(clean)[:60] or "item"
        if model.objects.filter(slug=slug).exists():
            raise ValidationFailed.one("name", f"{clean!r} would have the slug {slug!r}, which is taken.")
        row = model.objects.create(
            name=clean, slug=slug, rank=rank if rank is not None else 100, is_active=is_active is not False
        )
        _audit(f"{kind}.created", row, actor, now, {"name": clean, "slug": slug}, is_new=True)
        return row
    found = model.objects.select_for_update().filter(pk=item_id).first()
    if found is None:
        raise ValidationFailed.one("id", f"There is no entry {item_id}.")
    found.name = clean
    if rank is not None:
        found.rank = rank
    if is_active is not None:
        found.is_active = is_active
    found.save(update_fields=["name", "rank", "is_active"])
    _audit(f"{kind}.updated", found, actor, now, {"name": clean, "rank": found.rank, "is_active": found.is_active}, is_new=False)
    return found


def path_problems(path: Any, *, field: str = "path") -> dict[str, str]:
    """What is wrong with an escalation path, by level: `path[1].team_id` …"""
    if not isinstance(path, list) or not path:
        return {field: "A path has at least one level."}
    if len(path) > 12:
        return {field: "A path has at most 12 levels."}
    errors: dict[str, str] = {}
    for index, level in enumerate(path):
        key = f"{field}[{index}]"
        if not isinstance(level, dict):
            errors[key] = "A level is an object: {team_id, tier} or {role} or {user_id}, with response_minutes."
            continue
        unknown = set(level) - {"team_id", "tier", "role", "user_id", "response_minutes"}
        if unknown:
            errors[key] = f"Unknown keys: {', '.join(sorted(unknown))}."
            continue
        kinds = sum(
            1
            for present in (
                level.get("tier") is not None or level.get("team_id") is not None,
                level.get("role") is not None,
                level.get("user_id") is not None,
            )
            if present
        )
        if kinds != 1:
            errors[key] = "A level names exactly one of: a team's tier (team_id and/or tier), a role, or a user."
            continue
        team = None
        if level.get("team_id") is not None:
            team = Team.objects.filter(pk=level["team_id"]).first() if isinstance(level["team_id"], int) else None
            if team is None:
                errors[f"{key}.team_id"] = f"There is no team {level['team_id']!r}."
                continue
        tier = level.get("tier")
        if tier is not None:
            top = team.tier_count if team else 9
            if not isinstance(tier, int) or isinstance(tier, bool) or not 1 <= tier <= top:
                errors[f"{key}.tier"] = f"The tier is a whole number from 1 to {top}."
        role = level.get("role")
        if role is not None and (not isinstance(role, str) or role not in {r.value for r in LevelRole}):
            errors[f"{key}.role"] = f"The role is one of {', '.join(r.value for r in LevelRole)}."
        user_id = level.get("user_id")
        if (
            user_id is not None
            and not User.objects.filter(
                pk=user_id if isinstance(user_id, int) else 0, is_active=True, agent_profile__isnull=False
            ).exists()
        ):
            errors[f"{key}.user_id"] = f"There is no active agent {user_id!r}."
        minutes = level.get("response_minutes")
        if minutes is not None and (
            not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_RESPONSE_MINUTES
        ):
            errors[f"{key}.response_minutes"] = "Whole minutes from 1 to 525,600 (a year), or leave it out."
    return errors


@transaction.atomic
def matrix_cell_set(*, category: str | None, severity: str | None, path: Any, actor: User | None, now: datetime) -> MatrixCell:
    """Set the path for category × severity; a null category or severity is the row's or the
    matrix's fallback."""
    errors: dict[str, str] = {}
    found = None
    if category is not None:
        found = DecisionCategory.objects.filter(slug=category).first()
        if found is None:
            errors["category"] = f"There is no decision category {category!r}."
    if severity is not None and severity not in Severity.values:
        errors["severity"] = f"The severity is one of {', '.join(Severity.values)}, or null for any."
    errors.update(path_problems(path))
    if errors:
        raise ValidationFailed(errors)
    key = f"{category or '*'}:{severity or '*'}"
    cell, created = MatrixCell.objects.update_or_create(
        key=key, defaults={"category": found, "severity": severity, "path": path, "updated_at": now}
    )
    _audit("matrix.cell_set", cell, actor, now, {"key": key, "path": path}, is_new=created)
    return cell


@transaction.atomic
def matrix_cell_delete(*, cell: MatrixCell, actor: User | None, now: datetime) -> None:
    event_record(
        subject_type="matrixcell",
        subject_id=cell.pk,
        kind="matrix.cell_deleted",
        actor=actor,
        occurred_at=now,
        after={"key": cell.key},
    )
    cell.delete()


def _playbook_problems(data: dict[str, Any], *, instance: Playbook | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if "name" in data or instance is None:
        name = " ".join(str(data.get("name") or "").split())
        if not 1 <= len(name) <= 100:
            errors["name"] = "Give the playbook a name of 1 to 100 characters."
        elif Playbook.objects.filter(name__iexact=name).exclude(pk=instance.pk if instance else 0).exists():
            errors["name"] = f"A playbook named {name!r} exists already."
    if data.get("category") is not None and not DecisionCategory.objects.filter(slug=data["category"]).exists():
        errors["category"] = f"There is no decision category {data['category']!r}."
    steps = data.get("steps")
    if "steps" in data or instance is None:
        if not isinstance(steps, list) or not steps:
            errors["steps"] = "A playbook has at least one step."
        else:
            for index, step in enumerate(steps):
                if not isinstance(step, dict) or not 1 <= len(str(step.get("title") or "").strip()) <= 200:
                    errors[f"steps[{index}].title"] = "Say what to do, in 1 to 200 characters."
                    continue
                due = step.get("due_minutes")
                if due is not None and (
                    not isinstance(due, int) or isinstance(due, bool) or not 0 <= due <= MAX_RESPONSE_MINUTES
                ):
                    errors[f"steps[{index}].due_minutes"] = "Whole minutes after the escalation opens (0 to 525,600), or null."
                if len(str(step.get("role") or "")) > 60:
                    errors[f"steps[{index}].role"] = "At most 60 characters."
    return errors


@transaction.atomic
def playbook_save(*, playbook: Playbook | None, data: dict[str, Any], actor: User | None, now: datetime) -> Playbook:
    errors = _playbook_problems(data, instance=playbook)
    if errors:
        raise ValidationFailed(errors)
    is_new = playbook is None
    row = playbook or Playbook(updated_at=now)
    if "name" in data:
        row.name = " ".join(str(data["name"]).split())
    if "category" in data:
        row.category = DecisionCategory.objects.filter(slug=data["category"]).first() if data["category"] else None
    if "steps" in data:
        row.steps = [
            {"title": str(s["title"]).strip(), "role": str(s.get("role") or ""), "due_minutes": s.get("due_minutes")}
            for s in data["steps"]
        ]
    if "is_active" in data:
        row.is_active = bool(data["is_active"])
    row.updated_at = now
    row.save()
    _audit("playbook.saved", row, actor, now, {"name": row.name, "steps": row.steps}, is_new=is_new)
    return row


@transaction.atomic
def approval_rule_create(*, data: dict[str, Any], actor: User | None, now: datetime) -> ApprovalRule:
    errors: dict[str, str] = {}
    category = None
    if data.get("category") is not None:
        category = DecisionCategory.objects.filter(slug=data["category"]).first()
        if category is None:
            errors["category"] = f"There is no decision category {data['category']!r}."
    severities = list(data.get("severities") or [])
    bad = [s for s in severities if s not in Severity.values]
    if bad:
        errors["severities"] = f"Severities are {', '.join(Severity.values)}; not {', '.join(map(str, bad))}."
    roles = list(data.get("approver_roles") or [])
    bad_roles = [r for r in roles if r not in APPROVER_ROLES]
    if bad_roles:
        errors["approver_roles"] = f"Approver roles are {', '.join(APPROVER_ROLES)}; not {', '.join(map(str, bad_roles))}."
    ids = list(data.get("approver_ids") or [])
    people = list(User.objects.filter(pk__in=ids, is_active=True))
    if len(people) != len(set(ids)):
        errors["approver_ids"] = "Some approver_ids are not active users."
    if not roles and not ids:
        errors["approver_roles"] = "Say who signs off: approver roles, approver_ids, or both."
    if errors:
        raise ValidationFailed(errors)
    rule = ApprovalRule.objects.create(category=category, severities=severities, approver_roles=roles)
    rule.approvers.set(people)
    _audit(
        "approval_rule.created",
        rule,
        actor,
        now,
        {"category": data.get("category"), "severities": severities, "roles": roles, "approvers": sorted(ids)},
        is_new=True,
    )
    return rule


@transaction.atomic
def settings_update(*, data: dict[str, Any], actor: User | None, now: datetime) -> EscalationSettings:
    row = escalation_settings()
    errors: dict[str, str] = {}
    if "risk_appetite" in data and not (isinstance(data["risk_appetite"], int) and 1 <= data["risk_appetite"] <= 25):
        errors["risk_appetite"] = "A score from 1 to 25 (likelihood × impact, each 1–5)."
    if "executive_emails" in data and data["executive_emails"] is None:
        data = {**data, "executive_emails": []}
    for index, address in enumerate(data.get("executive_emails") or []):
        problem = email_problem(address) if isinstance(address, str) else "An e-mail address."
        if problem:
            errors[f"executive_emails[{index}]"] = problem
    ids = list(data.get("executive_ids") or [])
    people = list(User.objects.filter(pk__in=ids, is_active=True))
    if len(people) != len(set(ids)):
        errors["executive_ids"] = "Some executive_ids are not active users."
    reopen = data.get("escalate_on_reopen")
    if reopen is not None and not (isinstance(reopen, int) and 1 <= reopen <= 100):
        errors["escalate_on_reopen"] = "The reopen count (1 to 100) that escalates automatically, or null for never."
    if errors:
        raise ValidationFailed(errors)
    fields = []
    for name in ("risk_appetite", "executive_emails", "escalate_on_reopen"):
        if name in data:
            setattr(row, name, data[name])
            fields.append(name)
    if fields:
        row.save(update_fields=fields)
    if "executive_ids" in data:
        row.executives.set(people)
    event_record(
        subject_type="escalationsettings",
        subject_id=1,
        kind="escalation_settings.updated",
        actor=actor,
        occurred_at=now,
        after=dict(data),
    )
    return row
