"""Settings → People and teams: every team (tiers, description, transfer target) and every person
(role, teams, tier, active). Staff may look; only admins change anything, through
`services.team_create` / `team_update` / `user_update_access`. Each form has its own prefix
(`team-new`, `team-3`, `user-7`), so a refused save shows its errors next to the row it was about."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from escalada.accounts import services
from escalada.accounts.models import Role, Team
from escalada.accounts.selectors import account_role, agent_profile_of, is_staff_role, user_role
from escalada.base.errors import ValidationFailed

ROLE_NAMES = {
    Role.AGENT: "Agent",
    Role.TEAM_LEAD: "Team lead",
    Role.ESCALATION_MANAGER: "Escalation manager",
    Role.ADMIN: "Admin",
    Role.CUSTOMER: "Customer",
}


class TeamForm(forms.Form):
    name = forms.CharField(max_length=120)
    tier_count = forms.IntegerField(label="Tiers", min_value=1, max_value=9, initial=3, help_text="L1 … Ln, 1 to 9.")
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    transfer_target_minutes = forms.IntegerField(
        required=False,
        min_value=1,
        label="Transfer target (minutes)",
        help_text="How long a ticket transferred to this team may wait to be picked up; empty: no target.",
    )


class AccessForm(forms.Form):
    role = forms.ChoiceField(choices=[(r.value, name) for r, name in ROLE_NAMES.items()])
    teams = forms.ModelMultipleChoiceField(queryset=Team.objects.none(), required=False, widget=forms.CheckboxSelectMultiple)
    tier = forms.IntegerField(min_value=1, max_value=9, initial=1)
    is_active = forms.BooleanField(required=False, label="Active (may sign in)")

    def __init__(self, *args: Any, teams: Sequence[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["teams"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = Team.objects.order_by("name")
        # The choices from the page's one team query, not one query per person's form.
        field.choices = [(t.pk, t.name) for t in teams]


def _show(form: forms.Form, exc: ValidationFailed) -> None:
    for field, text in exc.errors.items():
        form.add_error(field if field in form.fields else None, text)


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "accounts/forbidden.html", {"nav": "people", "message": message}, status=403)


@login_required
def people_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    role = user_role(user=user)
    if not is_staff_role(role):
        return _forbidden(request, "People and teams are for the support team.")
    is_admin = role == Role.ADMIN
    teams = list(Team.objects.annotate(members=Count("agents")).order_by("name"))
    bound: forms.Form | None = None
    if request.method == "POST":
        if not is_admin:
            return _forbidden(request, "Only admins change people and teams.")
        prefix = request.POST.get("form", "")
        bound = _save(request, prefix, teams, user)
        if bound is None:
            return redirect("people")
    people = list(User.objects.select_related("agent_profile").prefetch_related("agent_profile__teams").order_by("username"))

    def form_for(prefix: str, make: Any) -> forms.Form:
        return bound if bound is not None and bound.prefix == prefix else make()

    team_rows = [
        {
            "team": t,
            "form": form_for(
                f"team-{t.pk}",
                lambda t=t: TeamForm(
                    prefix=f"team-{t.pk}",
                    initial={
                        "name": t.name,
                        "tier_count": t.tier_count,
                        "description": t.description,
                        "transfer_target_minutes": t.transfer_target_minutes,
                    },
                ),
            ),
        }
        for t in teams
    ]
    person_rows = []
    for person in people:
        profile = agent_profile_of(user=person)
        person_teams = list(profile.teams.all()) if profile else []
        held = account_role(user=person)
        person_rows.append(
            {
                "person": person,
                "role": ROLE_NAMES[held],
                "teams": person_teams,
                "tier": profile.tier if profile else None,
                "form": form_for(
                    f"user-{person.pk}",
                    lambda person=person, held=held, profile=profile, person_teams=person_teams: AccessForm(
                        prefix=f"user-{person.pk}",
                        teams=teams,
                        initial={
                            "role": held.value,
                            "teams": [t.pk for t in person_teams],
                            "tier": profile.tier if profile else 1,
                            "is_active": person.is_active,
                        },
                    ),
                )
                if is_admin
                else None,
            }
        )
    context = {
        "nav": "people",
        "is_admin": is_admin,
        "team_rows": team_rows,
        "new_team_form": form_for("team-new", lambda: TeamForm(prefix="team-new")),
        "person_rows": person_rows,
    }
    return render(request, "accounts/people.html", context, status=422 if bound is not None else 200)


def _save(request: HttpRequest, prefix: str, teams: Sequence[Team], actor: User) -> forms.Form | None:
    """Save the posted form; None when it saved, else the bound form with its errors."""
    by_pk = {t.pk: t for t in teams}
    kind, _, key = prefix.partition("-")
    if kind == "team":
        team_form = TeamForm(request.POST, prefix=prefix)
        team = by_pk.get(int(key)) if key.isdigit() else None
        if key != "new" and team is None:
            team_form.add_error(None, "There is no such team any more.")
            return team_form
        if not team_form.is_valid():
            return team_form
        data = team_form.cleaned_data
        fields = {
            "name": data["name"],
            "tier_count": data["tier_count"],
            "description": data["description"],
            "transfer_target_minutes": data["transfer_target_minutes"],
        }
        try:
            if team is None:
                created = services.team_create(actor=actor, **fields)
                messages.success(request, f"Team {created.name} created.")
            else:
                services.team_update(team=team, actor=actor, **fields)
                messages.success(request, f"Team {data['name']} saved.")
        except ValidationFailed as exc:
            _show(team_form, exc)
            return team_form
        return None
    person = User.objects.select_related("agent_profile").filter(pk=int(key) if key.isdigit() else 0).first()
    access_form = AccessForm(request.POST, prefix=prefix, teams=teams)
    if kind != "user" or person is None:
        access_form.add_error(None, "There is no such person.")
        return access_form
    if not access_form.is_valid():
        return access_form
    data = access_form.cleaned_data
    try:
        services.user_update_access(
            user=person,
            role=data["role"],
            is_active=data["is_active"],
            teams=list(data["teams"]),
            tier=data["tier"],
            actor=actor,
        )
    except ValidationFailed as exc:
        _show(access_form, exc)
        return access_form
    messages.success(request, f"{person.get_full_name() or person.username} saved.")
    return None
