"""Settings → Escalation matrix: the grid of decision categories × severity, each cell showing
the path that applies and where it comes from (its own cell, the row, a default — the gaps),
and, for admins, a form to set a cell."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from escalada.accounts.models import Role, Team
from escalada.accounts.selectors import is_staff_role, user_role
from escalada.base.errors import ValidationFailed
from escalada.core.escalation import MatrixCell as CoreCell
from escalada.core.escalation import PathLevel, matrix_path
from escalada.escalations import configuration
from escalada.escalations.models import DecisionCategory, MatrixCell
from escalada.escalations.records import path_from_json
from escalada.tickets.models import Severity

ANY = ""


class CellForm(forms.Form):
    category = forms.ChoiceField(required=False, label="Decision category")
    severity = forms.ChoiceField(required=False, choices=[(ANY, "Any severity"), *Severity.choices], label="Severity")
    path = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        label="Path (JSON)",
        help_text='Levels in order, e.g. [{"tier": 1}, {"tier": 2, "response_minutes": 60}, {"role": "escalation_manager"}]',
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        categories = DecisionCategory.objects.filter(is_active=True).order_by("rank")
        field = self.fields["category"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(ANY, "Any category (default)"), *[(c.slug, c.name) for c in categories]]


def _words(level: PathLevel, teams: dict[int, str], people: dict[int, str]) -> str:
    if level.user_id is not None:
        words = people.get(level.user_id, f"user {level.user_id}")
    elif level.role is not None:
        words = level.role.value.replace("_", " ")
    else:
        team = teams.get(level.team_id, "?") if level.team_id is not None else "the ticket's team"
        words = f"{team} L{level.tier or 1}"
    return f"{words} ({level.response_minutes} min)" if level.response_minutes else words


def _grid() -> dict[str, Any]:
    cells = list(MatrixCell.objects.select_related("category"))
    core = [CoreCell(c.category.slug if c.category else None, c.severity, path_from_json(c.path)) for c in cells]
    teams = dict(Team.objects.values_list("pk", "name"))
    people = {u.pk: u.get_full_name() or u.username for u in User.objects.filter(agent_profile__isnull=False)}
    rows = []
    for category in DecisionCategory.objects.filter(is_active=True).order_by("rank"):
        row = []
        for severity in Severity.values:
            choice = matrix_path(core, category=category.slug, severity=severity, tier_count=3)
            own = choice.cell is not None and (choice.cell.category, choice.cell.severity) == (category.slug, severity)
            path = " → ".join(_words(level, teams, people) for level in choice.path)
            row.append(
                {
                    "path": path,
                    "reason": choice.reason,
                    "is_own": own,
                    "is_gap": choice.cell is None or choice.cell.category is None,
                }
            )
        rows.append({"category": category, "cells": row})
    defaults = [
        {"key": c.key, "path": " → ".join(_words(level, teams, people) for level in path_from_json(c.path)), "pk": c.pk}
        for c in cells
        if c.category is None
    ]
    return {"rows": rows, "severities": Severity.choices, "defaults": defaults}


@login_required
def matrix_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    role = user_role(user=user)
    if not is_staff_role(role):
        message = "Escalation settings are for the support team."
        return render(request, "desk/escalations/forbidden.html", {"nav": "settings", "message": message}, status=403)
    is_admin = role == Role.ADMIN
    form = CellForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not is_admin:
            message = "Only admins change the escalation matrix."
            return render(request, "desk/escalations/forbidden.html", {"nav": "settings", "message": message}, status=403)
        if form.is_valid():
            try:
                path = json.loads(form.cleaned_data["path"])
            except json.JSONDecodeError as exc:
                form.add_error("path", f"Not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).")
            else:
                try:
                    configuration.matrix_cell_set(
                        category=form.cleaned_data["category"] or None,
                        severity=form.cleaned_data["severity"] or None,
                        path=path,
                        actor=user,
                        now=timezone.now(),
                    )
                except ValidationFailed as exc:
                    for field, text in exc.errors.items():
                        form.add_error(field if field in ("category", "severity") else "path", f"{field}: {text}")
                else:
                    messages.success(request, "Matrix cell saved.")
                    return redirect("escalation-matrix")
        status = 422
    context = {"nav": "matrix", "form": form, "is_admin": is_admin, **_grid()}
    return render(request, "escalations/matrix.html", context, status=status)
