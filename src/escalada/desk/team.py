"""The team lead's view: the team's tickets at risk (an SLA warning passed) and breached, the
load per agent, and reassigning in one action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Count, Q

from escalada.accounts.models import AgentProfile, Role, Team
from escalada.accounts.selectors import team_ids_of, user_role
from escalada.sla.models import Clock, ClockState
from escalada.tickets.models import Status, Ticket

OPEN = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


def teams_for_lead(*, user: AbstractBaseUser | AnonymousUser) -> list[Team]:
    """The teams whose view this person may open: a lead's own teams; every team for
    escalation managers and admins."""
    role = user_role(user=user)
    if role in {Role.ADMIN, Role.ESCALATION_MANAGER}:
        return list(Team.objects.order_by("name"))
    if role == Role.TEAM_LEAD:
        return list(Team.objects.filter(pk__in=team_ids_of(user=user)).order_by("name"))
    return []


@dataclass(frozen=True)
class RiskRow:
    ticket: Ticket
    clock: Clock  # the most urgent counting clock that passed its warning


@dataclass(frozen=True)
class TeamView:
    team: Team
    breached: list[RiskRow]
    at_risk: list[RiskRow]
    load: list[tuple[User, int, int]]  # agent, open tickets, of which breached
    unassigned: int


def team_view(*, team: Team, now: datetime) -> TeamView:
    """Four queries: the warned or breached counting clocks of the team's open tickets (with
    their tickets), the agents, their open counts, and the unassigned count."""
    clocks = (
        Clock.objects.filter(
            ticket__team=team,
            ticket__status__in=OPEN,
            state__in=[ClockState.RUNNING, ClockState.BREACHED],
            paused_at__isnull=True,
        )
        .filter(Q(warned_at__isnull=False) | Q(breached_at__isnull=False) | Q(due_at__lte=now))
        .select_related("ticket", "ticket__assignee", "ticket__requester", "ticket__organization")
        .order_by("due_at")
    )
    worst: dict[int, Clock] = {}
    for clock in clocks:
        worst.setdefault(clock.ticket_id, clock)  # earliest due first
    breached = [RiskRow(c.ticket, c) for c in worst.values() if c.breached_at is not None or (c.due_at and c.due_at <= now)]
    at_risk = [RiskRow(c.ticket, c) for c in worst.values() if c.breached_at is None and not (c.due_at and c.due_at <= now)]
    agents = list(User.objects.filter(agent_profile__teams=team, is_active=True).order_by("first_name", "username").distinct())
    counts = dict(
        Ticket.objects.filter(team=team, status__in=OPEN, assignee__isnull=False)
        .values("assignee")
        .annotate(n=Count("pk"))
        .values_list("assignee", "n")
    )
    breached_by: dict[int, int] = {}
    for row in breached:
        if row.ticket.assignee_id is not None:
            breached_by[row.ticket.assignee_id] = breached_by.get(row.ticket.assignee_id, 0) + 1
    load = [(agent, counts.get(agent.pk, 0), breached_by.get(agent.pk, 0)) for agent in agents]
    load.sort(key=lambda item: (-item[1], item[0].username))
    unassigned = Ticket.objects.filter(team=team, status__in=OPEN, assignee__isnull=True).count()
    return TeamView(team=team, breached=breached, at_risk=at_risk, load=load, unassigned=unassigned)


def agent_in_team(user_id: int, team: Team) -> User | None:
    profile = AgentProfile.objects.filter(user_id=user_id, teams=team, user__is_active=True).select_related("user").first()
    return profile.user if profile else None
