"""Settings → Escalation lists and playbooks, and sign-off and risk: what support ops edits without a developer —
reasons, decision categories and root-cause categories (add, rename, rank, retire), and the
playbooks that become action plans (steps one per line: "title | role | minutes")."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from escalada.accounts.models import Role
from escalada.accounts.selectors import is_staff_role, user_role
from escalada.base.errors import ValidationFailed
from escalada.escalations import configuration
from escalada.escalations.models import ApprovalRule, DecisionCategory, Playbook
from escalada.escalations.records import escalation_settings
from escalada.tickets.models import Severity

TITLES = {
    "reasons": "Escalation reasons",
    "decision-categories": "Decision categories",
    "root-cause-categories": "Root-cause categories",
}


class EntryForm(forms.Form):
    kind = forms.ChoiceField(choices=list(TITLES.items()), widget=forms.HiddenInput)
    item = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(max_length=200)
    rank = forms.IntegerField(required=False, min_value=0, max_value=100_000)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")


# One page holds an "add" form per list and one for playbooks, all with a field called name:
# each gets its own ids, so every label points at its own field.
PLAYBOOK_IDS = "id_playbook_%s"


def _entry_ids(kind: str) -> str:
    return f"id_{kind}_%s"


class PlaybookForm(forms.Form):
    playbook = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(max_length=200)
    category = forms.ChoiceField(required=False, label="Decision category")
    steps = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One step a line: title | role | minutes after the escalation opens (role and minutes optional).",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Any"), *DecisionCategory.objects.order_by("rank").values_list("slug", "name")]


def steps_from_text(text: str) -> list[dict[str, Any]]:
    """ "Check the invoice run | finance agent | 60" per line → playbook steps. A minutes part
    that is not a whole number stays text, so the service names the line that is wrong."""
    steps: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        minutes: Any = parts[2] if len(parts) > 2 and parts[2] else None
        if isinstance(minutes, str) and minutes.isdigit():
            minutes = int(minutes)
        steps.append({"title": parts[0], "role": parts[1] if len(parts) > 1 else "", "due_minutes": minutes})
    return steps


def steps_to_text(steps: list[dict[str, Any]]) -> str:
    lines = []
    for step in steps:
        minutes = step.get("due_minutes")
        lines.append(" | ".join([step["title"], step.get("role") or "", "" if minutes is None else str(minutes)]).rstrip(" |"))
    return "\n".join(lines)


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "desk/escalations/forbidden.html", {"nav": "lists", "message": message}, status=403)


@login_required
def lists_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    role = user_role(user=user)
    if not is_staff_role(role):
        return _forbidden(request, "Escalation settings are for the support team.")
    is_admin = role == Role.ADMIN
    entry_form: EntryForm | None = None
    playbook_form: PlaybookForm | None = None
    if request.method == "POST":
        if not is_admin:
            return _forbidden(request, "Only admins change the escalation lists and playbooks.")
        if "steps" in request.POST:
            playbook_form = PlaybookForm(request.POST, auto_id=PLAYBOOK_IDS)
            if _save_playbook(playbook_form, user):
                messages.success(request, "Playbook saved.")
                return redirect("escalation-lists")
        else:
            entry_form = EntryForm(request.POST, auto_id=_entry_ids(request.POST.get("kind", "")))
            if _save_entry(entry_form, user):
                messages.success(request, "List saved.")
                return redirect("escalation-lists")
    lists = [
        {
            "kind": kind,
            "title": title,
            "entries": list(configuration.LISTS[kind].objects.order_by("rank", "name")),
            "form": entry_form
            if entry_form is not None and entry_form.data.get("kind") == kind
            else EntryForm(initial={"kind": kind}, auto_id=_entry_ids(kind)),
        }
        for kind, title in TITLES.items()
    ]
    playbooks = [(p, steps_to_text(p.steps)) for p in Playbook.objects.select_related("category").order_by("name")]
    context = {
        "nav": "lists",
        "lists": lists,
        "playbooks": playbooks,
        "playbook_form": playbook_form or PlaybookForm(auto_id=PLAYBOOK_IDS),
        "is_admin": is_admin,
    }
    return render(request, "escalations/lists.html", context, status=422 if request.method == "POST" else 200)


def _save_entry(form: EntryForm, user: User) -> bool:
    if not form.is_valid():
        return False
    try:
        configuration.list_item_save(
            kind=form.cleaned_data["kind"],
            item_id=form.cleaned_data["item"],
            name=form.cleaned_data["name"],
            rank=form.cleaned_data["rank"],
            is_active=form.cleaned_data["is_active"],
            actor=user,
            now=timezone.now(),
        )
    except ValidationFailed as exc:
        for field, text in exc.errors.items():
            form.add_error(field if field in ("name", "rank") else None, text)
        return False
    return True


def _save_playbook(form: PlaybookForm, user: User) -> bool:
    if not form.is_valid():
        return False
    existing = Playbook.objects.filter(pk=form.cleaned_data["playbook"] or 0).first()
    data = {
        "name": form.cleaned_data["name"],
        "category": form.cleaned_data["category"] or None,
        "steps": steps_from_text(form.cleaned_data["steps"]),
        "is_active": form.cleaned_data["is_active"],
    }
    try:
        configuration.playbook_save(playbook=existing, data=data, actor=user, now=timezone.now())
    except ValidationFailed as exc:
        for field, text in exc.errors.items():
            target = "steps" if field.startswith("steps") else (field if field in ("name", "category") else None)
            form.add_error(target, f"{_line_words(field)}{text}")
        return False
    return True


def _line_words(field: str) -> str:
    """ "steps[2].due_minutes" → "Line 3: " (people count lines from one)."""
    if field.startswith("steps[") and "]" in field:
        return f"Line {int(field[6 : field.index(']')]) + 1}: "
    return ""


class ApprovalRuleForm(forms.Form):
    category = forms.ChoiceField(required=False, label="Decision category")
    severities = forms.MultipleChoiceField(
        required=False, choices=Severity.choices, widget=forms.CheckboxSelectMultiple, help_text="None ticked: any severity."
    )
    approver_roles = forms.MultipleChoiceField(
        required=False,
        choices=[
            ("team_lead", "Team lead (of the team that has it)"),
            ("escalation_manager", "Escalation manager"),
            ("admin", "Admin"),
        ],
        widget=forms.CheckboxSelectMultiple,
        label="Approved by",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Any"), *DecisionCategory.objects.order_by("rank").values_list("slug", "name")]


class SettingsForm(forms.Form):
    risk_appetite = forms.IntegerField(
        min_value=1, max_value=25, help_text="Risk scores (likelihood × impact) above this alert the executives at once."
    )
    executive_emails = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Executive list", help_text="One address a line."
    )
    escalate_on_reopen = forms.IntegerField(
        required=False, min_value=1, max_value=100, help_text="Escalate automatically on this reopen (empty: never)."
    )


@login_required
def signoff_page(request: HttpRequest) -> HttpResponse:
    """Settings → Sign-off and risk: which escalations need approval, the risk appetite and who
    hears of risks above it, and the automatic escalation on the Nth reopen."""
    user = request.user
    assert isinstance(user, User)
    role = user_role(user=user)
    if not is_staff_role(role):
        return _forbidden(request, "Escalation settings are for the support team.")
    is_admin = role == Role.ADMIN
    current = escalation_settings()
    rule_form = ApprovalRuleForm()
    settings_form = SettingsForm(
        initial={
            "risk_appetite": current.risk_appetite,
            "executive_emails": "\n".join(current.executive_emails),
            "escalate_on_reopen": current.escalate_on_reopen,
        }
    )
    status = 200
    if request.method == "POST":
        if not is_admin:
            return _forbidden(request, "Only admins change sign-off rules and escalation settings.")
        if request.POST.get("form") == "rule":
            rule_form = ApprovalRuleForm(request.POST)
            if rule_form.is_valid() and _saved(
                rule_form,
                lambda: configuration.approval_rule_create(
                    data={
                        "category": rule_form.cleaned_data["category"] or None,
                        "severities": rule_form.cleaned_data["severities"],
                        "approver_roles": rule_form.cleaned_data["approver_roles"],
                    },
                    actor=user,
                    now=timezone.now(),
                ),
            ):
                messages.success(request, "Sign-off rule added.")
                return redirect("escalation-signoff")
        else:
            settings_form = SettingsForm(request.POST)
            if settings_form.is_valid():
                emails = [line.strip() for line in settings_form.cleaned_data["executive_emails"].splitlines() if line.strip()]
                data = {
                    "risk_appetite": settings_form.cleaned_data["risk_appetite"],
                    "executive_emails": emails,
                    "escalate_on_reopen": settings_form.cleaned_data["escalate_on_reopen"],
                }
                if _saved(settings_form, lambda: configuration.settings_update(data=data, actor=user, now=timezone.now())):
                    messages.success(request, "Escalation settings saved.")
                    return redirect("escalation-signoff")
        status = 422
    rules = ApprovalRule.objects.select_related("category").prefetch_related("approvers").order_by("pk")
    context = {"nav": "signoff", "rules": rules, "rule_form": rule_form, "settings_form": settings_form, "is_admin": is_admin}
    return render(request, "escalations/signoff.html", context, status=status)


def _saved(form: forms.Form, save: Any) -> bool:
    try:
        save()
    except ValidationFailed as exc:
        for field, text in exc.errors.items():
            name = field.split("[")[0]
            form.add_error(name if name in form.fields else None, text)
        return False
    return True
