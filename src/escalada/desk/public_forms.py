from __future__ import annotations

from django import forms


class SupportRequestForm(forms.Form):
    """The public support form. `website` is a honeypot: people never see it, bots fill it."""

    name = forms.CharField(max_length=200, label="Your name")
    email = forms.EmailField(max_length=254, label="Your e-mail")
    subject = forms.CharField(max_length=250)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), max_length=50_000, label="How can we help?")
    website = forms.CharField(
        required=False, label="Leave this empty", widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"})
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Tell us your name.")
        return name
