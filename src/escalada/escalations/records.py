"""Writes on the escalation record itself: its status, action plan, contributors, approvals,
root cause and risk. Each write records one Event on the escalation's own stream
(`escalation:<id>`), which is the record's timeline.

What an escalation does to its ticket (team, tier, assignee, status, the customer's mail) is the
desk's business (`escalada.desk.escalate`), which calls these.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.db.models import Q

from escalada.accounts.models import AgentProfile, Role, Team
from escalada.accounts.selectors import user_role
from escalada.audit.services import event_record
from escalada.base.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from escalada.core import escalation as rules
from escalada.escalations.models import (
    ActionStep,
    Approval,
    ApprovalRule,
    ApprovalState,
    Contributor,
    Escalation,
    EscalationSettings,
    EscalationStatus,
    MatrixCell,
    Playbook,
    RootCause,
    RootCauseCategory,
)
from escalada.notifications import internal
from escalada.tickets.models import Ticket
from escalada.tickets.services import normalize_tags

STATUS_STAMPS = {
    EscalationStatus.ACKNOWLEDGED: "acknowledged_at",
    EscalationStatus.IN_PROGRESS: "in_progress_at",
    EscalationStatus.AWAITING_APPROVAL: "awaiting_approval_at",
    EscalationStatus.RESOLVED: "resolved_at",
    EscalationStatus.DE_ESCALATED: "de_escalated_at",
    EscalationStatus.REOPENED: "reopened_at",
}
ACTIVE_VALUES = frozenset(s.value for s in rules.ACTIVE)
MANAGING_ROLES = frozenset({Role.TEAM_LEAD, Role.ESCALATION_MANAGER, Role.ADMIN})


def escalation_settings() -> EscalationSettings:
    settings, _ = EscalationSettings.objects.get_or_create(pk=1)
    return settings


# --- paths ----------------------------------------------------------------------------------------


def path_from_json(raw: list[dict[str, Any]]) -> tuple[rules.PathLevel, ...]:
    return tuple(
        rules.PathLevel(
            team_id=item.get("team_id"),
            tier=item.get("tier"),
            role=rules.LevelRole(item["role"]) if item.get("role") else None,
            user_id=item.get("user_id"),
            response_minutes=item.get("response_minutes"),
        )
        for item in raw
    )


def path_to_json(path: tuple[rules.PathLevel, ...]) -> list[dict[str, Any]]:
    return [
        {
            key: value
            for key, value in (
                ("team_id", level.team_id),
                ("tier", level.tier),
                ("role", level.role.value if level.role else None),
                ("user_id", level.user_id),
                ("response_minutes", level.response_minutes),
            )
            if value is not None
        }
        for level in path
    ]


def matrix_choice(*, category_slug: str | None, severity: str, tier_count: int) -> rules.MatrixChoice:
    cells = [
        rules.MatrixCell(
            category=cell.category.slug if cell.category else None, severity=cell.severity, path=path_from_json(cell.path)
        )
        for cell in MatrixCell.objects.select_related("category")
    ]
    return rules.matrix_path(cells, category=category_slug, severity=severity, tier_count=tier_count)


def escalation_manager_of(team: Team | None) -> User | None:
    """The team's escalation manager (first by username), else any escalation manager."""
    managers = AgentProfile.objects.filter(is_escalation_manager=True, user__is_active=True).select_related("user")
    chosen = managers.filter(teams=team).order_by("user__username").first() if team is not None else None
    chosen = chosen or managers.order_by("user__username").first()
    return chosen.user if chosen else None


def team_lead_of(team: Team | None) -> User | None:
    if team is None:
        return None
    lead = (
        AgentProfile.objects.filter(is_team_lead=True, teams=team, user__is_active=True)
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    return lead.user if lead else None


# --- the record -----------------------------------------------------------------------------------


def escalation_active_for(*, ticket: Ticket, lock: bool = False) -> Escalation | None:
    rows = Escalation.objects.filter(ticket=ticket, status__in=[s.value for s in rules.ACTIVE])
    if lock:
        rows = rows.select_for_update()
    return rows.first()


def require_active(escalation: Escalation) -> None:
    """An ended escalation is a closed file: it changes again only when it is reopened."""
    if escalation.status not in ACTIVE_VALUES:
        raise Conflict(
            f"Escalation {escalation.pk} is {escalation.get_status_display().lower()}; it changes again only if it is reopened."
        )


def escalation_event(escalation: Escalation, kind: str, actor: User | None, now: datetime, **after: Any) -> None:
    """One event on the escalation's own stream: its timeline."""
    event_record(
        subject_type="escalation",
        subject_id=escalation.pk,
        kind=kind,
        actor=actor,
        occurred_at=now,
        after=after,
        is_new_subject=kind == "escalation.opened",
    )


def escalation_move(*, escalation: Escalation, status: str, actor: User | None, now: datetime, note: str = "") -> Escalation:
    """Move the record along its workflow (acknowledge, start work …), time-stamping the move."""
    try:
        target = rules.EscalationStatus(status)
    except ValueError:
        raise ValidationFailed.one(
            "status", f"A status is one of {', '.join(s.value for s in rules.EscalationStatus)}."
        ) from None
    problem = rules.transition_problem(rules.EscalationStatus(escalation.status), target)
    if problem:
        raise Conflict(problem)
    before = escalation.status
    escalation.status = target.value
    fields = ["status", "updated_at"]
    stamp = STATUS_STAMPS.get(EscalationStatus(target.value))
    if stamp:
        setattr(escalation, stamp, now)
        fields.append(stamp)
    escalation.updated_at = now
    escalation.save(update_fields=fields)
    escalation_event(escalation, "escalation.status_changed", actor, now, before=before, status=target.value, note=note)
    return escalation


def escalation_acknowledge(*, escalation: Escalation, actor: User, now: datetime) -> Escalation:
    """The owner (or any manager) has seen it; the current level's response target is met."""
    escalation = escalation_move(escalation=escalation, status=EscalationStatus.ACKNOWLEDGED, actor=actor, now=now)
    escalation.hops.filter(responded_at__isnull=True).update(responded_at=now)
    return escalation


def escalation_status_set(*, escalation: Escalation, status: str, actor: User, now: datetime, note: str = "") -> Escalation:
    """What people move by hand: acknowledge (the owner, leads, managers, admins) or start work.
    Resolving, sign-off and de-escalating have their own verbs; an escalation awaiting sign-off
    moves only by an approver's decision."""
    if status not in (EscalationStatus.ACKNOWLEDGED, EscalationStatus.IN_PROGRESS):
        raise ValidationFailed.one(
            "status", "Use acknowledged or in_progress here; resolve, request sign-off and de-escalate have their own calls."
        )
    if escalation.status == EscalationStatus.AWAITING_APPROVAL:
        raise Conflict("The escalation awaits sign-off: an approver approves or rejects it (a rejection sends it back to work).")
    if status == EscalationStatus.ACKNOWLEDGED:
        require_manager_or_owner(user=actor, escalation=escalation, what="acknowledge it")
        return escalation_acknowledge(escalation=escalation, actor=actor, now=now)
    return escalation_move(escalation=escalation, status=status, actor=actor, now=now, note=note)


def require_manager_or_owner(*, user: AbstractBaseUser | AnonymousUser, escalation: Escalation, what: str) -> None:
    if user_role(user=user) in MANAGING_ROLES or escalation.owner_id == user.pk:
        return
    raise PermissionDenied(f"Only the escalation's owner, team leads, escalation managers and admins {what}.")


def escalation_set_owner(*, escalation: Escalation, owner: User | None, actor: User | None, now: datetime) -> Escalation:
    require_active(escalation)
    if owner is not None and (not owner.is_active or not hasattr(owner, "agent_profile")):
        raise ValidationFailed.one("owner_id", f"{owner.get_username()} is not an active agent.")
    before = escalation.owner_id
    escalation.owner, escalation.updated_at = owner, now
    escalation.save(update_fields=["owner", "updated_at"])
    escalation_event(escalation, "escalation.owner_changed", actor, now, before=before, owner=owner.pk if owner else None)
    return escalation


def escalation_set_details(
    *, escalation: Escalation, tags: list[str] | None, reason_text: str | None, actor: User | None, now: datetime
) -> Escalation:
    require_active(escalation)
    fields = ["updated_at"]
    if tags is not None:
        escalation.tags = normalize_tags(tags)
        fields.append("tags")
    if reason_text is not None:
        if len(reason_text) > 20_000:
            raise ValidationFailed.one("reason_text", "At most 20,000 characters.")
        escalation.reason_text = reason_text.strip()
        fields.append("reason_text")
    escalation.updated_at = now
    escalation.save(update_fields=fields)
    escalation_event(escalation, "escalation.updated", actor, now, tags=escalation.tags, reason_text=escalation.reason_text)
    return escalation


# --- risk -----------------------------------------------------------------------------------------


def escalation_set_risk(
    *, escalation: Escalation, likelihood: int | None, impact: int | None, actor: User | None, now: datetime
) -> Escalation:
    """Likelihood × impact (1–5 each). Crossing the appetite alerts the executive list at once."""
    require_active(escalation)
    errors = {
        name: "A whole number from 1 to 5."
        for name, value in (("risk_likelihood", likelihood), ("risk_impact", impact))
        if value is not None and not rules.RISK_MIN <= value <= rules.RISK_MAX
    }
    if (likelihood is None) != (impact is None):
        errors.setdefault("risk_impact" if impact is None else "risk_likelihood", "Give both likelihood and impact, or neither.")
    if errors:
        raise ValidationFailed(errors)
    before = escalation.risk_score
    escalation.risk_likelihood, escalation.risk_impact, escalation.updated_at = likelihood, impact, now
    escalation.save(update_fields=["risk_likelihood", "risk_impact", "updated_at"])
    after = escalation.risk_score
    if before != after:
        escalation_event(escalation, "escalation.risk_set", actor, now, likelihood=likelihood, impact=impact, score=after)
    settings = escalation_settings()
    if rules.risk_crosses(before=before, after=after, appetite=settings.risk_appetite):
        ticket = escalation.ticket
        count = internal.people_notify(
            kind="escalation.risk_exceeded",
            ticket=ticket,
            users=list(settings.executives.filter(is_active=True)),
            emails=list(settings.executive_emails),
            lines=[
                f"Escalation {escalation.pk}: risk {after} (likelihood {likelihood} × impact {impact}) "
                f"is above the appetite of {settings.risk_appetite}."
            ],
            key=f"escalation:{escalation.pk}:risk:{uuid.uuid4().hex}",
            now=now,
        )
        escalation_event(
            escalation, "escalation.risk_exceeded", actor, now, score=after, appetite=settings.risk_appetite, notified=count
        )
    return escalation


# --- action plan ----------------------------------------------------------------------------------


def action_plan_apply(*, escalation: Escalation, playbook: Playbook, actor: User | None, now: datetime) -> list[ActionStep]:
    """Copy a playbook's steps onto the escalation, due relative to now; they are then the
    escalation's own, edited freely."""
    require_active(escalation)
    start = (escalation.action_steps.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    steps = [
        ActionStep(
            escalation=escalation,
            position=start + index,
            title=str(raw["title"])[:200],
            role=str(raw.get("role", ""))[:60],
            due_at=now + timedelta(minutes=int(raw["due_minutes"])) if raw.get("due_minutes") is not None else None,
            playbook_name=playbook.name,
        )
        for index, raw in enumerate(playbook.steps)
    ]
    ActionStep.objects.bulk_create(steps)
    escalation_event(escalation, "escalation.playbook_applied", actor, now, playbook=playbook.name, steps=len(steps))
    return list(escalation.action_steps.filter(playbook_name=playbook.name, position__gte=start))


def _check_step(data: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if "title" in data and not 1 <= len(str(data["title"] or "").strip()) <= 200:
        errors["title"] = "Say what to do, in 1 to 200 characters."
    assignee = data.get("assignee_id")
    if assignee is not None and not User.objects.filter(pk=assignee, is_active=True, agent_profile__isnull=False).exists():
        errors["assignee_id"] = f"There is no active agent {assignee}."
    return errors


def action_step_add(*, escalation: Escalation, data: dict[str, Any], actor: User | None, now: datetime) -> ActionStep:
    require_active(escalation)
    errors = _check_step({"title": data.get("title", ""), **data})
    if errors:
        raise ValidationFailed(errors)
    position = (escalation.action_steps.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    step = ActionStep.objects.create(
        escalation=escalation,
        position=position,
        title=str(data["title"]).strip(),
        role=str(data.get("role") or "")[:60],
        assignee_id=data.get("assignee_id"),
        due_at=data.get("due_at"),
    )
    escalation_event(escalation, "escalation.step_added", actor, now, step=step.pk, title=step.title)
    return step


def action_step_update(*, step: ActionStep, data: dict[str, Any], actor: User | None, now: datetime) -> ActionStep:
    """Edit a step; `is_done` true marks it done by the actor, false undoes that."""
    require_active(step.escalation)
    errors = _check_step(data)
    if errors:
        raise ValidationFailed(errors)
    fields: list[str] = []
    for name in ("title", "role", "assignee_id", "due_at"):
        if name in data:
            value = data[name].strip() if name == "title" else data[name]
            setattr(step, name, value if name != "role" else str(value or ""))
            fields.append(name.removesuffix("_id") if name == "assignee_id" else name)
    if "is_done" in data:
        step.done_at = now if data["is_done"] else None
        step.done_by = actor if data["is_done"] else None
        fields += ["done_at", "done_by"]
    if fields:
        step.save(update_fields=fields)
        escalation_event(step.escalation, "escalation.step_updated", actor, now, step=step.pk, changed=sorted(set(fields)))
    return step


# --- contributors ---------------------------------------------------------------------------------


def contributor_add(*, escalation: Escalation, user: User, role: str, actor: User | None, now: datetime) -> Contributor:
    """An expert joins the swarm: they are told, and they see the escalation on their board."""
    require_active(escalation)
    if not hasattr(user, "agent_profile") or not user.is_active:
        raise ValidationFailed.one("user_id", f"{user.get_username()} is not an active agent.")
    contributor, created = Contributor.objects.get_or_create(
        escalation=escalation, user=user, defaults={"role": role[:60], "added_at": now, "added_by": actor}
    )
    if not created:
        return contributor
    escalation_event(escalation, "escalation.contributor_added", actor, now, user=user.get_username(), role=role)
    internal.people_notify(
        kind="escalation.opened",
        ticket=escalation.ticket,
        users=[user],
        emails=[],
        lines=[f"You were added to escalation {escalation.pk} (L{escalation.level}) as {role or 'contributor'}."],
        key=f"escalation:{escalation.pk}:contributor:{user.pk}",
        now=now,
    )
    return contributor


def contributor_remove(*, escalation: Escalation, user_id: int, actor: User | None, now: datetime) -> None:
    require_active(escalation)
    deleted, _ = Contributor.objects.filter(escalation=escalation, user_id=user_id).delete()
    if not deleted:
        raise NotFound(f"User {user_id} is not a contributor of this escalation.")
    escalation_event(escalation, "escalation.contributor_removed", actor, now, user_id=user_id)


# --- sign-off -------------------------------------------------------------------------------------


def approval_rules_for(escalation: Escalation) -> list[ApprovalRule]:
    rows = ApprovalRule.objects.filter(is_active=True).filter(Q(category__isnull=True) | Q(category=escalation.category_id))
    return [rule for rule in rows.prefetch_related("approvers") if not rule.severities or escalation.severity in rule.severities]


def needs_approval(escalation: Escalation) -> bool:
    return bool(approval_rules_for(escalation))


def is_approved(escalation: Escalation) -> bool:
    """Signed off for this round: an approval given since the escalation last reopened (a
    reopened escalation needs a new sign-off to resolve again)."""
    latest = escalation.approvals.order_by("-requested_at", "-pk").first()
    if latest is None or latest.state != ApprovalState.APPROVED:
        return False
    return escalation.reopened_at is None or (latest.decided_at is not None and latest.decided_at > escalation.reopened_at)


def approval_request(*, escalation: Escalation, actor: User | None, note: str, now: datetime) -> Approval:
    """Ask for sign-off: the approvers are frozen from the matching rules (any manager when no
    rule names anyone) and told; the escalation waits in awaiting_approval."""
    require_active(escalation)
    if escalation.approvals.filter(state=ApprovalState.PENDING).exists():
        raise Conflict("Sign-off was requested already and is pending.")
    roles: set[str] = set()
    ids: set[int] = set()
    for rule in approval_rules_for(escalation):
        roles.update(rule.approver_roles)
        ids.update(user.pk for user in rule.approvers.all())
    if not roles and not ids:
        roles = {Role.ESCALATION_MANAGER.value, Role.ADMIN.value}
    if escalation.status != EscalationStatus.AWAITING_APPROVAL:
        escalation_move(escalation=escalation, status=EscalationStatus.AWAITING_APPROVAL, actor=actor, now=now)
    approval = Approval.objects.create(
        escalation=escalation,
        approver_roles=sorted(roles),
        approver_ids=sorted(ids),
        requested_by=actor,
        requested_at=now,
        note=note,
    )
    escalation_event(
        escalation, "escalation.approval_requested", actor, now, approval=approval.pk, roles=sorted(roles), users=sorted(ids)
    )
    internal.people_notify(
        kind="escalation.approval_requested",
        ticket=escalation.ticket,
        users=approvers_of(approval, escalation),
        emails=[],
        lines=[f"Escalation {escalation.pk} needs your sign-off.", note],
        key=f"approval:{approval.pk}:requested",
        now=now,
    )
    return approval


def approvers_of(approval: Approval, escalation: Escalation) -> list[User]:
    people = {user.pk: user for user in User.objects.filter(pk__in=approval.approver_ids, is_active=True)}
    profiles = AgentProfile.objects.filter(user__is_active=True).select_related("user")
    if Role.TEAM_LEAD.value in approval.approver_roles and escalation.to_team_id is not None:
        people.update({p.user.pk: p.user for p in profiles.filter(is_team_lead=True, teams=escalation.to_team_id)})
    if Role.ESCALATION_MANAGER.value in approval.approver_roles:
        people.update({p.user.pk: p.user for p in profiles.filter(is_escalation_manager=True)})
    return list(people.values())


def may_approve(*, user: AbstractBaseUser | AnonymousUser, approval: Approval, escalation: Escalation) -> bool:
    if user.pk in approval.approver_ids:
        return True
    role = user_role(user=user)
    if role == Role.ADMIN and Role.ADMIN.value in approval.approver_roles:
        return True
    return any(person.pk == user.pk for person in approvers_of(approval, escalation))


def approval_decide(*, escalation: Escalation, user: User, is_approved: bool, comment: str, now: datetime) -> Approval:
    """Approve or reject the pending sign-off. Non-approvers get a 403 and nothing changes."""
    approval = escalation.approvals.select_for_update().filter(state=ApprovalState.PENDING).first()
    if approval is None:
        raise Conflict("No sign-off is pending on this escalation.")
    if not may_approve(user=user, approval=approval, escalation=escalation):
        raise PermissionDenied("You are not an approver of this escalation.")
    if approval.requested_by_id == user.pk:
        raise PermissionDenied("You asked for this sign-off; another approver must give it.")
    if not comment.strip():
        what = "why you reject it, so the team knows what to change" if not is_approved else "what you approve, for the record"
        raise ValidationFailed.one("comment", f"Say {what}.")
    approval.state = ApprovalState.APPROVED if is_approved else ApprovalState.REJECTED
    approval.decided_by, approval.decided_at, approval.comment = user, now, comment
    approval.save(update_fields=["state", "decided_by", "decided_at", "comment"])
    kind = "escalation.approved" if is_approved else "escalation.rejected"
    escalation_event(escalation, kind, user, now, approval=approval.pk, comment=comment)
    if not is_approved:
        escalation.is_resolution_held = False
        escalation.save(update_fields=["is_resolution_held"])
        escalation_move(escalation=escalation, status=EscalationStatus.IN_PROGRESS, actor=user, now=now, note=comment)
    return approval


# --- root cause -----------------------------------------------------------------------------------


def root_cause_save(*, escalation: Escalation, data: dict[str, Any], actor: User | None, now: datetime) -> RootCause:
    """Save what is known of the root cause so far; resolving checks it is complete."""
    require_active(escalation)
    errors: dict[str, str] = {}
    category = team = None
    if data.get("category"):
        category = RootCauseCategory.objects.filter(slug=data["category"], is_active=True).first()
        if category is None:
            names = ", ".join(RootCauseCategory.objects.filter(is_active=True).values_list("slug", flat=True))
            errors["category"] = f"Choose one of {names}."
    if data.get("owning_team_id"):
        team = Team.objects.filter(pk=data["owning_team_id"]).first()
        if team is None:
            errors["owning_team_id"] = f"There is no team {data['owning_team_id']}."
    for name in ("description", "corrective_action", "preventive_action", "customer_summary"):
        if len(str(data.get(name) or "")) > 20_000:
            errors[name] = "At most 20,000 characters."
    if errors:
        raise ValidationFailed(errors)
    root, _ = RootCause.objects.get_or_create(escalation=escalation, defaults={"recorded_at": now, "recorded_by": actor})
    if "category" in data:
        root.category = category
    if "owning_team_id" in data:
        root.owning_team = team
    for name in ("description", "corrective_action", "preventive_action", "customer_summary"):
        if name in data:
            setattr(root, name, str(data[name] or "").strip())
    root.recorded_at, root.recorded_by = now, actor
    root.save()
    escalation_event(
        escalation,
        "escalation.root_cause_saved",
        actor,
        now,
        category=root.category.slug if root.category else None,
        owning_team=root.owning_team_id,
        missing=root_cause_missing(escalation),
    )
    return root


def root_cause_missing(escalation: Escalation) -> list[str]:
    root = RootCause.objects.filter(escalation=escalation).first()
    if root is None:
        return list(rules.ROOT_CAUSE_FIELDS)
    return rules.root_cause_missing(
        {
            "category": root.category_id,
            "description": root.description,
            "corrective_action": root.corrective_action,
            "preventive_action": root.preventive_action,
            "owning_team": root.owning_team_id,
            "customer_summary": root.customer_summary,
        }
    )


@transaction.atomic
def escalation_lock(*, escalation_id: int) -> Escalation:
    row = Escalation.objects.select_for_update().filter(pk=escalation_id).first()
    if row is None:
        raise NotFound(f"No escalation with id {escalation_id}.")
    return row
