from __future__ import annotations

from django import forms
from django.http import QueryDict

from escalada.customers.models import Organization, Tier
from escalada.customers.services import OrganizationData


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=200)
    domains = forms.CharField(
        required=False, help_text="E-mail domains, separated by spaces; senders from them join this organization."
    )
    tier = forms.ChoiceField(choices=Tier.choices)
    time_zone = forms.CharField(max_length=64, help_text="IANA zone, e.g. Europe/Berlin.")
    external_id = forms.CharField(required=False, max_length=100, label="External id")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def organization_data(self) -> OrganizationData:
        """The cleaned form as the services take it."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "domains": data["domains"].split(),
            "tier": data["tier"],
            "time_zone": data["time_zone"],
            "external_id": data["external_id"] or None,
            "notes": data["notes"],
        }


class ContactForm(forms.Form):
    name = forms.CharField(max_length=200)
    email = forms.EmailField()
    phone = forms.CharField(required=False, max_length=40)
    organization = forms.ModelChoiceField(queryset=Organization.objects.order_by("name"), required=False, empty_label="—")
    time_zone = forms.CharField(max_length=64)
    is_vip = forms.BooleanField(required=False, label="VIP")
    external_id = forms.CharField(required=False, max_length=100, label="External id")


class SearchForm(forms.Form):
    # A CharField refuses NUL characters, which PostgreSQL cannot compare with.
    q = forms.CharField(required=False, max_length=200)


def search_query(data: QueryDict) -> str:
    form = SearchForm(data)
    return str(form.cleaned_data["q"]) if form.is_valid() else ""


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8 CSV with a header row; all rows are imported or none.")
