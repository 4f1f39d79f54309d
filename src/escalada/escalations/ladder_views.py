"""Settings → Ladders: every escalation ladder with its levels as a visual path (trigger, offset,
actions and repeat in words, one card a level), and, for admins, a form to create or change one
(levels as JSON, each problem named by its level) and a button to deactivate it. Every write goes
through `services.ladder_create` / `ladder_update`, so the page and the API cannot drift apart."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db.models import Count, F, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from escalada.accounts.models import Role, Team
from escalada.accounts.selectors import user_role
from escalada.base.errors import NotFound, PermissionDenied, ValidationFailed
from escalada.escalations import selectors, services
from escalada.escalations.models import Ladder, RunState
from escalada.sla.forms import conditions_text
from escalada.sla.models import Metric, Policy

LEVELS_HELP = (
    'A JSON list, one level an entry: {"trigger": "metric_breach", "metric": "resolution", "offset_minutes": 30, '
    '"business_time": true, "repeat_every_minutes": 15, "actions": [{"type": "notify", "to": ["team_leads"]}]}. '
    "Triggers: metric_warning, metric_breach, unresolved_for, no_agent_reply_for."
)
CONDITIONS_HELP = (
    'Only for a ladder standing alone: a JSON list such as [{"field": "priority", "operator": "in", "value": ["urgent"]}]; '
    "empty matches every ticket."
)
_KEY = re.compile(r"^(?P<name>levels|conditions)\[(?P<index>\d+)\](?:\.actions\[(?P<action>\d+)\])?$")


def _json_list(text: str, *, what: str) -> list[Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:
        raise forms.ValidationError("This JSON is nested too deeply.") from None
    if not isinstance(value, list):
        raise forms.ValidationError(f"Give a JSON list of {what}, [...].")
    return value


LEVEL_KEYS = ("trigger", "metric", "offset_minutes", "business_time", "repeat_every_minutes", "actions")


def _ordered(value: Any, first: tuple[str, ...]) -> Any:
    """A dict with `first` keys in that order, then the rest: PostgreSQL's jsonb keeps keys sorted
    by length, and the form should read the same on either database."""
    if not isinstance(value, dict):
        return value
    return {**{k: value[k] for k in first if k in value}, **{k: v for k, v in value.items() if k not in first}}


def levels_text(levels: list[Any]) -> str:
    """The levels as the textarea shows them: one level a line, so a level's number is its line's."""
    if not levels:
        return ""
    lines = []
    for level in levels:
        shown = _ordered(level, LEVEL_KEYS)
        if isinstance(shown, dict) and isinstance(shown.get("actions"), list):
            shown["actions"] = [_ordered(action, ("type",)) for action in shown["actions"]]
        lines.append(f"  {json.dumps(shown, ensure_ascii=False)}")
    return "[\n" + ",\n".join(lines) + "\n]"


class LadderForm(forms.Form):
    name = forms.CharField(max_length=100)
    policy = forms.ModelChoiceField(
        queryset=Policy.objects.order_by("rank", "name"),
        required=False,
        empty_label="— none: it stands alone with its own conditions —",
        label="SLA policy",
        help_text="The tickets on this policy follow the ladder. A policy has at most one ladder.",
    )
    rank = forms.IntegerField(
        min_value=0, max_value=1_000_000, initial=100, help_text="For ladders standing alone: lower ranks are checked first."
    )
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "code"}),
        help_text=CONDITIONS_HELP,
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    levels = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}), help_text=LEVELS_HELP
    )

    def clean_conditions(self) -> list[Any]:
        text = self.cleaned_data["conditions"].strip()
        return _json_list(text, what="conditions") if text else []

    def clean_levels(self) -> list[Any]:
        return _json_list(self.cleaned_data["levels"], what="levels")

    def ladder_data(self) -> services.LadderData:
        return services.LadderData(
            name=self.cleaned_data["name"],
            policy=self.cleaned_data["policy"],
            rank=self.cleaned_data["rank"],
            conditions=self.cleaned_data["conditions"],
            is_active=self.cleaned_data["is_active"],
            levels=self.cleaned_data["levels"],
        )

    def show_errors(self, exc: ValidationFailed) -> None:
        """The service's 422 sentences next to their input, the level (and action) named in words:
        "levels[1].actions[0]" → "Level 2, action 1: …"."""
        for key, text in exc.errors.items():
            found = _KEY.match(key)
            if found is None:
                field = {"policy_id": "policy"}.get(key, key)
                self.add_error(field if field in self.fields else None, text)
                continue
            where = f"{'Level' if found['name'] == 'levels' else 'Condition'} {int(found['index']) + 1}"
            if found["action"] is not None:
                where += f", action {int(found['action']) + 1}"
            self.add_error(found["name"], f"{where}: {text}")

    @staticmethod
    def initial_of(ladder: Ladder) -> dict[str, Any]:
        return {
            "name": ladder.name,
            "policy": ladder.policy_id,
            "rank": ladder.rank,
            "conditions": conditions_text(ladder.conditions),
            "is_active": ladder.is_active,
            "levels": levels_text(ladder.levels),
        }


# --- the visual path -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelCard:
    number: int
    trigger: str
    offset: str
    actions: list[str]
    repeat: str


def _minutes(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24 or hours % 24:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{hours // 24} d {rest} min" if rest else f"{hours // 24} d"


def _metric(value: Any) -> str:
    return str(Metric(value).label).lower() if value in Metric.values else str(value or "?")


def _trigger_words(level: dict[str, Any]) -> str:
    trigger, metric = level.get("trigger"), _metric(level.get("metric"))
    words = {
        "metric_warning": f"When the {metric} target is about to be missed (warning)",
        "metric_breach": f"When the {metric} target is missed (breach)",
        "unresolved_for": "When the ticket is still unsolved after it was created",
        "no_agent_reply_for": "When the customer's last message has no public agent reply",
    }
    return words.get(str(trigger), str(trigger))


def _offset_words(level: dict[str, Any]) -> str:
    minutes = level.get("offset_minutes", 0)
    if not isinstance(minutes, int) or minutes == 0:
        return "at once"
    kind = "business" if level.get("business_time", True) else "calendar"
    return f"+ {_minutes(minutes)} ({kind} time)"


def _people(ids: Any, people: dict[int, str]) -> str:
    return ", ".join(people.get(i, f"user {i}") for i in ids or [] if isinstance(i, int))


def action_words(action: dict[str, Any], teams: dict[int, str], people: dict[int, str]) -> str:
    kind = action.get("type")
    if kind == "assign_team":
        return f"reassign to the team {teams.get(action.get('team_id') or 0, '?')}"
    if kind == "assign_user":
        return f"reassign to {people.get(action.get('user_id') or 0, '?')}"
    if kind == "set_priority":
        return f"set the priority to {action.get('priority')}"
    if kind == "set_tier":
        return f"set the tier to L{action.get('tier')}"
    if kind == "add_tags":
        return f"add the tags {', '.join(map(str, action.get('tags') or []))}"
    if kind == "notify":
        who = [str(r).replace("_", " ") for r in action.get("to") or []]
        who += [name for name in _people(action.get("user_ids"), people).split(", ") if name]
        who += [str(e) for e in action.get("emails") or []]
        return f"notify {', '.join(who)}"
    if kind == "escalate":
        level = action.get("level")
        target = f"to level {level}" if level else "one level up"
        return f"open or raise the escalation record {target} (reason {action.get('reason', 'sla-breach')})"
    if kind == "add_contributors":
        role = f" as {action['role']}" if action.get("role") else ""
        return f"add {_people(action.get('user_ids'), people)} to the escalation{role}"
    fixed = {
        "assign_escalation_manager": "assign the escalation manager",
        "raise_priority": "raise the priority one step",
        "raise_tier": "raise the tier one step",
        "notify_customer": "tell the customer a specialist team has the request",
        "webhook": "call the webhooks (escalation.level_fired)",
    }
    return fixed.get(str(kind), str(kind))


def level_cards(levels: list[Any], teams: dict[int, str], people: dict[int, str]) -> list[LevelCard]:
    cards = []
    for index, level in enumerate(levels):
        if not isinstance(level, dict):
            continue
        repeat = level.get("repeat_every_minutes")
        cards.append(
            LevelCard(
                number=index + 1,
                trigger=_trigger_words(level),
                offset=_offset_words(level),
                actions=[action_words(a, teams, people) for a in level.get("actions") or [] if isinstance(a, dict)],
                repeat=f"repeats every {_minutes(repeat)} until acknowledged" if isinstance(repeat, int) and repeat else "once",
            )
        )
    return cards


def _names() -> tuple[dict[int, str], dict[int, str]]:
    """Team and people names for the cards, two queries for the whole page."""
    teams = dict(Team.objects.values_list("pk", "name"))
    people = {u.pk: u.get_full_name() or u.username for u in User.objects.filter(agent_profile__isnull=False)}
    return teams, people


# --- pages ---------------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "desk/escalations/forbidden.html", {"nav": "ladders", "message": message}, status=403)


def _require_admin(user: User) -> None:
    if user_role(user=user) != Role.ADMIN:
        raise PermissionDenied("Only admins change escalation ladders.")


@login_required
def ladder_list_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    try:
        ladders = list(selectors.ladder_list(user=user).select_related("policy"))
    except PermissionDenied as exc:
        return _forbidden(request, exc.message)
    # Running tickets still on an older version of each ladder, in one query.
    behind = dict(
        Ladder.objects.filter(pk__in=[lad.pk for lad in ladders])
        .annotate(n=Count("runs", filter=Q(runs__state=RunState.RUNNING, runs__ladder_version__lt=F("version"))))
        .values_list("pk", "n")
    )
    teams, people = _names()
    rows = [
        {
            "ladder": lad,
            "cards": level_cards(lad.levels, teams, people),
            "behind": behind.get(lad.pk, 0),
            "prefix": f"ladder-{lad.pk}-",
        }
        for lad in ladders
    ]
    context = {"nav": "ladders", "rows": rows, "is_admin": user_role(user=user) == Role.ADMIN}
    return render(request, "escalations/ladders.html", context)


def _ladder_page(request: HttpRequest, ladder: Ladder | None, form: LadderForm) -> HttpResponse:
    is_admin = user_role(user=_user(request)) == Role.ADMIN
    if not is_admin:
        for field in form.fields.values():
            field.disabled = True
    teams, people = _names()
    shown = ladder.levels if ladder is not None else []
    context = {
        "nav": "ladders",
        "ladder": ladder,
        "form": form,
        "cards": level_cards(shown, teams, people),
        "is_admin": is_admin,
    }
    return render(request, "escalations/ladder_form.html", context, status=422 if form.errors else 200)


@login_required
def ladder_edit(request: HttpRequest, ladder_id: int | None = None) -> HttpResponse:
    user = _user(request)
    try:
        if ladder_id is None:
            selectors.ladder_list(user=user)  # the staff check
            ladder = None
        else:
            ladder = selectors.ladder_get(user=user, ladder_id=ladder_id)
        if request.method == "POST":
            _require_admin(user)
    except NotFound:
        raise Http404("No such escalation ladder.") from None
    except PermissionDenied as exc:
        return _forbidden(request, exc.message)
    if request.method != "POST":
        initial = LadderForm.initial_of(ladder) if ladder else {"is_active": True, "rank": 100}
        return _ladder_page(request, ladder, LadderForm(initial=initial))
    form = LadderForm(request.POST)
    if form.is_valid():
        try:
            if ladder is None:
                ladder = services.ladder_create(data=form.ladder_data(), actor=user, now=timezone.now())
                messages.success(request, f"Ladder {ladder.name} created.")
            else:
                ladder = services.ladder_update(ladder=ladder, data=form.ladder_data(), actor=user, now=timezone.now())
                messages.success(
                    request,
                    f"Ladder {ladder.name} saved (version {ladder.version}). Tickets already on it keep their levels "
                    "until someone re-applies the ladder on the ticket.",
                )
        except ValidationFailed as exc:
            form.show_errors(exc)
        else:
            return redirect("ladder-edit", ladder_id=ladder.pk)
    return _ladder_page(request, ladder, form)


@login_required
@require_POST
def ladder_set_active(request: HttpRequest, ladder_id: int) -> HttpResponse:
    """Deactivate (or activate again) a ladder: new tickets stop (or start) following it."""
    user = _user(request)
    try:
        ladder = selectors.ladder_get(user=user, ladder_id=ladder_id)
        _require_admin(user)
    except NotFound:
        raise Http404("No such escalation ladder.") from None
    except PermissionDenied as exc:
        return _forbidden(request, exc.message)
    is_active = request.POST.get("is_active") == "1"
    services.ladder_update(ladder=ladder, data={"is_active": is_active}, actor=user, now=timezone.now())
    messages.success(
        request,
        f"Ladder {ladder.name} is active again."
        if is_active
        else f"Ladder {ladder.name} is deactivated: no ticket starts on it any more.",
    )
    return redirect("ladder-list")
