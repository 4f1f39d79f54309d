"""`/team/`: the team lead's at-risk and breached tickets, load per agent, one-action reassign."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from escalada.base.errors import ServiceError
from escalada.desk import verbs
from escalada.desk.team import agent_in_team, team_view, teams_for_lead
from escalada.sla.views import viewer_zone
from escalada.tickets.models import Ticket


def _forbidden(request: HttpRequest) -> HttpResponse:
    message = "The team view is for team leads, escalation managers and admins."
    return render(request, "desk/escalations/forbidden.html", {"nav": "team", "message": message}, status=403)


@login_required
def team_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    teams = teams_for_lead(user=user)
    if not teams:
        return _forbidden(request)
    chosen = next((t for t in teams if str(t.pk) == request.GET.get("team")), teams[0])
    view = team_view(team=chosen, now=timezone.now())
    context = {"nav": "team", "teams": teams, "view": view, "zone": viewer_zone(user).key}
    return render(request, "desk/team.html", context)


@login_required
@require_POST
def team_reassign(request: HttpRequest) -> HttpResponse:
    """One action: the ticket goes to the chosen agent of the same team."""
    user = request.user
    assert isinstance(user, User)
    teams = {t.pk: t for t in teams_for_lead(user=user)}
    ticket = Ticket.objects.select_related("team").filter(pk=request.POST.get("ticket") or 0).first()
    if not teams or ticket is None or ticket.team_id not in teams:
        return _forbidden(request)
    assignee = agent_in_team(
        int(request.POST.get("assignee") or 0) if (request.POST.get("assignee") or "").isdigit() else 0, teams[ticket.team_id]
    )
    if assignee is None:
        messages.error(request, "Choose an agent of the ticket's team.")
    else:
        try:
            verbs.ticket_assign(ticket=ticket, team=ticket.team, assignee=assignee, actor=user)
            messages.success(request, f"#{ticket.number} is with {assignee.get_full_name() or assignee.username} now.")
        except ServiceError as exc:
            messages.error(request, exc.message)
    return redirect(f"/team/?team={ticket.team_id}")
