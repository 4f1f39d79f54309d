"""Writes on escalation ladders, with every problem named by level."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from escalada.accounts.models import Team
from escalada.audit.services import event_record
from escalada.base.errors import ValidationFailed
from escalada.core.ladder import Level, Trigger, ladder_problems
from escalada.core.matching import Condition, Operator, condition_problem
from escalada.escalations.models import Ladder, Reason
from escalada.sla.models import Metric, Policy
from escalada.tickets.models import Priority
from escalada.tickets.services import normalize_tags

NOTIFY_ROLES = ("assignee", "team_leads", "escalation_managers")
ACTION_TYPES = (
    "assign_team",  # {"team_id"}
    "assign_user",  # {"user_id"}
    "assign_escalation_manager",  # {}: the first escalation manager (by name) of the ticket's team, or any
    "raise_priority",  # {}: one step up, at most urgent
    "set_priority",  # {"priority"}
    "raise_tier",  # {}: +1 within the team's tiers
    "set_tier",  # {"tier"}
    "add_tags",  # {"tags": [...]}
    "notify",  # {"to": ["assignee", "team_leads", "escalation_managers"], "user_ids": [...], "emails": [...]}
    "notify_customer",  # {}: the "ticket_escalated" customer e-mail
    "webhook",  # {}: an escalation.level_fired webhook event
    "escalate",  # {"level": k (optional), "reason": slug (default sla-breach)}: open or raise the escalation record
    "add_contributors",  # {"user_ids": [...], "role": "..."}: join the ticket's active escalation
)


class LadderData(TypedDict, total=False):
    name: str
    policy: Policy | None
    rank: int
    conditions: list[dict[str, Any]]
    is_active: bool
    levels: list[dict[str, Any]]


def level_of(index: int, raw: dict[str, Any]) -> Level:
    """A core level from a level's data (already validated)."""
    repeat = raw.get("repeat_every_minutes")
    return Level(
        index=index,
        trigger=Trigger(raw["trigger"]),
        metric=raw.get("metric"),
        offset=timedelta(minutes=raw.get("offset_minutes", 0)),
        is_business_time=raw.get("business_time", True),
        repeat_every=timedelta(minutes=repeat) if repeat else None,
        actions=tuple(raw.get("actions", [])),
    )


def _action_problem(action: Any) -> str | None:
    if not isinstance(action, dict) or action.get("type") not in ACTION_TYPES:
        return f"An action is one of {', '.join(ACTION_TYPES)}."
    kind = action["type"]
    if kind == "assign_team" and not Team.objects.filter(pk=action.get("team_id") or 0).exists():
        return f"assign_team: there is no team {action.get('team_id')!r}."
    if kind == "assign_user":
        user = User.objects.filter(pk=action.get("user_id") or 0, is_active=True).select_related("agent_profile").first()
        if user is None or not hasattr(user, "agent_profile"):
            return f"assign_user: there is no active agent {action.get('user_id')!r}."
    if kind == "set_priority" and action.get("priority") not in Priority.values:
        return f"set_priority: priority is one of {', '.join(Priority.values)}."
    if kind == "set_tier" and (not isinstance(action.get("tier"), int) or not 1 <= action["tier"] <= 9):
        return "set_tier: tier is a whole number from 1 to 9."
    if kind == "add_tags":
        try:
            normalize_tags(list(action.get("tags") or []))
        except (ValidationFailed, TypeError):
            return "add_tags: give tags of up to 50 letters, digits, spaces, - _ . :"
        if not action.get("tags"):
            return "add_tags: give at least one tag."
    if kind == "escalate":
        level = action.get("level")
        if level is not None and (not isinstance(level, int) or isinstance(level, bool) or not 2 <= level <= 20):
            return "escalate: level is a whole number from 2 to 20, or leave it out for one level up."
        reason = action.get("reason", "sla-breach")
        if not isinstance(reason, str) or not Reason.objects.filter(slug=reason).exists():
            return f"escalate: there is no active reason {reason!r}."
    if kind == "add_contributors":
        user_ids = action.get("user_ids")
        if (
            not isinstance(user_ids, list)
            or not user_ids
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in user_ids)
        ):
            return "add_contributors: user_ids is a list of active agents' ids (at least one)."
        if not isinstance(action.get("role", ""), str) or len(action.get("role", "")) > 60:
            return "add_contributors: role is a text of at most 60 characters."
        agents = User.objects.filter(pk__in=user_ids, is_active=True, agent_profile__isnull=False).count()
        if agents != len(set(user_ids)):
            return "add_contributors: user_ids are active agents (at least one)."
    if kind == "notify":
        shapes = [(name, action.get(name, [])) for name in ("to", "user_ids", "emails")]
        for name, value in shapes:
            wanted = int if name == "user_ids" else str
            if not isinstance(value, list) or not all(isinstance(v, wanted) and not isinstance(v, bool) for v in value):
                return f"notify: {name} is a list of {'ids' if wanted is int else 'texts'}."
        roles = [r for r in action.get("to", []) if r not in NOTIFY_ROLES]
        if roles:
            return f"notify: 'to' takes {', '.join(NOTIFY_ROLES)}; not {', '.join(map(str, roles))}."
        user_ids = action.get("user_ids") or []
        if User.objects.filter(pk__in=user_ids, is_active=True).count() != len(set(user_ids)):
            return "notify: some user_ids are not active users."
        if not (action.get("to") or user_ids or action.get("emails")):
            return "notify: say who hears it (to, user_ids or emails)."
    return None


def _check_levels(raw_levels: Any) -> dict[str, str]:
    if not isinstance(raw_levels, list) or not raw_levels:
        return {"levels": "A ladder has at least one level."}
    errors: dict[str, str] = {}
    levels: list[Level] = []
    for index, raw in enumerate(raw_levels):
        key = f"levels[{index}]"
        if not isinstance(raw, dict) or raw.get("trigger") not in Trigger.__members__.values():
            errors[key] = f"A level's trigger is one of {', '.join(t.value for t in Trigger)}."
            continue
        if raw.get("metric") is not None and raw["metric"] not in Metric.values:
            errors[key] = f"metric is one of {', '.join(Metric.values)}."
            continue
        offset, repeat = raw.get("offset_minutes", 0), raw.get("repeat_every_minutes")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset > 5_260_320:
            errors[key] = "offset_minutes is a whole number of minutes (at most ten years)."
            continue
        if repeat is not None and (not isinstance(repeat, int) or isinstance(repeat, bool)):
            errors[key] = "repeat_every_minutes is a whole number of minutes, or null."
            continue
        actions = raw.get("actions")
        if not isinstance(actions, list) or not actions:
            errors[key] = "A level does at least one thing: give its actions."
            continue
        for position, action in enumerate(actions):
            problem = _action_problem(action)
            if problem:
                errors[f"{key}.actions[{position}]"] = problem
        levels.append(level_of(index, raw))
    for index, problem in ladder_problems(levels).items():
        errors.setdefault(f"levels[{index}]", problem)
    return errors


def _check_ladder(data: LadderData, *, instance: Ladder | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if "name" in data or instance is None:
        name = " ".join(data.get("name", "").split())
        if not 1 <= len(name) <= 100:
            errors["name"] = "Give the ladder a name of 1 to 100 characters."
        elif Ladder.objects.filter(name__iexact=name).exclude(pk=instance.pk if instance else 0).exists():
            errors["name"] = f"A ladder named {name!r} exists already."
    if "levels" in data or instance is None:
        errors.update(_check_levels(data.get("levels")))
    policy = data.get("policy")
    if policy is not None and Ladder.objects.filter(policy=policy).exclude(pk=instance.pk if instance else 0).exists():
        errors["policy_id"] = f"The policy {policy.name!r} has a ladder already."
    for index, raw in enumerate(data.get("conditions") or []):
        try:
            problem = condition_problem(
                Condition(field=str(raw["field"]), operator=Operator(raw["operator"]), value=raw["value"])
            )
        except (KeyError, ValueError, TypeError):
            problem = "A condition has a field, an operator and a value."
        if problem:
            errors[f"conditions[{index}]"] = problem
    return errors


def _snapshot(ladder: Ladder) -> dict[str, Any]:
    return {
        "name": ladder.name,
        "policy_id": ladder.policy_id,
        "rank": ladder.rank,
        "is_active": ladder.is_active,
        "levels": ladder.levels,
    }


@transaction.atomic
def ladder_create(*, data: LadderData, actor: User | None, now: datetime | None = None) -> Ladder:
    errors = _check_ladder(data, instance=None)
    if errors:
        raise ValidationFailed(errors)
    at = now or timezone.now()
    ladder = Ladder.objects.create(
        name=" ".join(data["name"].split()),
        policy=data.get("policy"),
        rank=data.get("rank", 100),
        conditions=data.get("conditions") or [],
        is_active=data.get("is_active", True),
        levels=data["levels"],
        created_at=at,
        updated_at=at,
    )
    event_record(
        subject_type="ladder",
        subject_id=ladder.pk,
        kind="ladder.created",
        is_new_subject=True,
        actor=actor,
        occurred_at=at,
        after=_snapshot(ladder),
    )
    return ladder


@transaction.atomic
def ladder_update(*, ladder: Ladder, data: LadderData, actor: User | None, now: datetime | None = None) -> Ladder:
    """Change a ladder. Running escalations keep their frozen levels until re-applied."""
    errors = _check_ladder(data, instance=ladder)
    if errors:
        raise ValidationFailed(errors)
    ladder = Ladder.objects.select_for_update().get(pk=ladder.pk)
    before = _snapshot(ladder)
    for key in ("policy", "rank", "conditions", "is_active", "levels"):
        if key in data:
            setattr(ladder, key, data[key])
    if "name" in data:
        ladder.name = " ".join(data["name"].split())
    after = _snapshot(ladder)
    if after == before:
        return ladder
    ladder.version += 1
    ladder.updated_at = now or timezone.now()
    ladder.save()
    changed = [k for k in after if after[k] != before[k]]
    event_record(
        subject_type="ladder",
        subject_id=ladder.pk,
        kind="ladder.updated",
        actor=actor,
        occurred_at=ladder.updated_at,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    return ladder
