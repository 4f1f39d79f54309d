"""The escalation pages' forms: the board's filters, the case file's actions, the ticket panel."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User

from escalada.accounts.models import Team
from escalada.escalations.models import (
    DecisionCategory,
    EscalationType,
    Playbook,
    Reason,
    RootCauseCategory,
)
from escalada.tickets.models import Severity


def active_agents() -> Any:
    return User.objects.filter(is_active=True, agent_profile__isnull=False).order_by("username")


class AgentChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.get_username()


# --- forms ----------------------------------------------------------------------------------------


class BoardFilterForm(forms.Form):
    show = forms.ChoiceField(
        required=False, choices=[("", "Active"), ("ended", "Resolved and de-escalated"), ("all", "All")], label="Show"
    )
    level = forms.IntegerField(required=False, min_value=1, max_value=20, widget=forms.NumberInput(attrs={"size": 3}))
    team = forms.ModelChoiceField(required=False, queryset=Team.objects.order_by("name"), empty_label="Any team")
    severity = forms.ChoiceField(required=False, choices=[("", "Any severity"), *Severity.choices])
    category = forms.ModelChoiceField(
        required=False,
        queryset=DecisionCategory.objects.filter(is_active=True).order_by("rank", "name"),
        to_field_name="slug",
        empty_label="Any category",
    )
    owner = AgentChoiceField(required=False, queryset=active_agents(), empty_label="Anyone")
    type = forms.ChoiceField(required=False, choices=[("", "Any type"), *EscalationType.choices])


class EscalateForm(forms.Form):
    reason = forms.ModelChoiceField(
        queryset=Reason.objects.filter(is_active=True).order_by("rank", "name"), to_field_name="slug", empty_label="—"
    )
    # Not required here: the verb's own sentence says what a hand-off note needs.
    handoff_note = forms.CharField(
        required=False,
        label="Hand-off note",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What was tried, what is known, what the next person should do.",
    )
    level = forms.IntegerField(required=False, min_value=1, max_value=20, label="Level (optional)")
    # The level the page showed: a second click on the same page is the same escalation.
    from_level = forms.IntegerField(required=False, min_value=0, max_value=20, widget=forms.HiddenInput)

    def __init__(self, *args: Any, may_skip_levels: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_skip_levels:
            del self.fields["level"]


class TransferForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), empty_label="—")
    reason = forms.ModelChoiceField(
        queryset=Reason.objects.filter(is_active=True).order_by("rank", "name"), to_field_name="slug", empty_label="—"
    )
    handoff_note = forms.CharField(required=False, label="Hand-off note", widget=forms.Textarea(attrs={"rows": 4}))


class NoteForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), label="Note", help_text="What the specialists did; why it goes back down."
    )


class ApprovalRequestForm(forms.Form):
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Note for the approvers")


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class StepForm(forms.Form):
    title = forms.CharField(max_length=200)
    role = forms.CharField(max_length=60, required=False)
    assignee = AgentChoiceField(required=False, queryset=active_agents(), empty_label="Nobody yet")
    due_at = forms.DateTimeField(
        required=False,
        label="Due",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="In your time zone.",
    )


class StepDoneForm(forms.Form):
    is_done = forms.TypedChoiceField(choices=[("1", "done"), ("0", "not done")], coerce=lambda v: v == "1")


class PlaybookForm(forms.Form):
    playbook = forms.ModelChoiceField(queryset=Playbook.objects.filter(is_active=True).order_by("name"), empty_label="—")


class ContributorForm(forms.Form):
    user = AgentChoiceField(queryset=active_agents(), empty_label="—", label="Person")
    role = forms.CharField(max_length=60, required=False, help_text="e.g. developer, billing specialist")


class RootCauseForm(forms.Form):
    category = forms.ModelChoiceField(
        required=False,
        queryset=RootCauseCategory.objects.filter(is_active=True).order_by("rank", "name"),
        to_field_name="slug",
        empty_label="—",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    corrective_action = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    preventive_action = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    owning_team = forms.ModelChoiceField(required=False, queryset=Team.objects.order_by("name"), empty_label="—")
    customer_summary = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="In customer words: it goes into the resolution message.",
    )


ROOT_CAUSE_ALIASES = {
    "owning_team_id": "owning_team",
    **{f"root_cause.{name}": name for name in RootCauseForm.base_fields},
    "root_cause.owning_team": "owning_team",
}
STEP_ALIASES = {"assignee_id": "assignee"}
