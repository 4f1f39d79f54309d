from __future__ import annotations

from typing import Any

from django import forms

from escalada.accounts.models import Team
from escalada.accounts.selectors import agent_list
from escalada.base.errors import ValidationFailed
from escalada.tickets.models import Category, Channel, Priority, Severity, Status, Visibility


def apply_service_errors(form: forms.Form, exc: ValidationFailed, aliases: dict[str, str] | None = None) -> None:
    """Show a service's field errors next to the form's fields (or on top when it has none)."""
    for field, message in exc.errors.items():
        name = (aliases or {}).get(field, field)
        form.add_error(name if name in form.fields else None, message)


class TicketFilterForm(forms.Form):
    q = forms.CharField(
        required=False, label="Search", widget=forms.TextInput(attrs={"placeholder": "Subject, #number, requester"})
    )
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), ("unsolved", "Unsolved"), *Status.choices])
    priority = forms.ChoiceField(required=False, choices=[("", "Any priority"), *Priority.choices])
    team = forms.ModelChoiceField(required=False, queryset=Team.objects.order_by("name"), empty_label="Any team")
    assignee = forms.ChoiceField(required=False, choices=[("", "Anyone"), ("me", "Me"), ("none", "Unassigned")])
    cursor = forms.CharField(required=False, widget=forms.HiddenInput)


class TicketEmbedForm(forms.Form):
    organization = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    requester = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("organization") and not data.get("requester"):
            raise forms.ValidationError("Say which organization or requester.")
        return data


UNSOLVED = [Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD]


class TicketNewForm(forms.Form):
    requester_email = forms.EmailField(label="Requester e-mail")
    requester_name = forms.CharField(label="Requester name", required=False, max_length=200)
    subject = forms.CharField(max_length=250)
    description = forms.CharField(widget=forms.Textarea)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.SEV3)
    category = forms.ModelChoiceField(queryset=Category.objects.order_by("name"), required=False, empty_label="—")
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, empty_label="—")
    tags = forms.CharField(required=False, help_text="Separate tags with commas.")

    def __init__(self, *args: Any, is_customer: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if is_customer:
            for name in ("requester_email", "requester_name", "channel", "team", "severity"):
                del self.fields[name]


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="Message")
    visibility = forms.ChoiceField(choices=Visibility.choices, initial=Visibility.PUBLIC, widget=forms.RadioSelect)
    status = forms.ChoiceField(required=False, choices=[("", "Keep status"), *Status.choices], label="Then set status")


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The ticket page also holds the reply form's status field: its own ids keep the labels apart.
        kwargs.setdefault("auto_id", "id_set_%s")
        super().__init__(*args, **kwargs)


class AssignForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, empty_label="No team")
    assignee = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ChoiceField)
        assignee.choices = [("", "Nobody")] + [(str(a.user_id), a.user.get_full_name() or a.user.username) for a in agent_list()]


class PropertiesForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices)
    severity = forms.ChoiceField(choices=Severity.choices)
    category = forms.ModelChoiceField(queryset=Category.objects.order_by("name"), required=False, empty_label="—")
    tags = forms.CharField(required=False, help_text="Separate tags with commas.")


def split_tags(raw: str) -> list[str]:
    return [t for t in (part.strip() for part in raw.split(",")) if t]
