"""Reads on calendars, policies and clocks. Settings are readable by staff and writable by admins;
a ticket's clocks are read through the ticket's own access check (by the caller)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from escalada.accounts.models import Role
from escalada.accounts.selectors import is_staff_role, user_role
from escalada.base.errors import NotFound, PermissionDenied
from escalada.core.matching import Match, match_policy
from escalada.sla import adapters
from escalada.sla.models import Calendar, Clock, ClockState, Policy, TicketPolicy
from escalada.tickets.models import Ticket


def _require_staff(user: AbstractBaseUser | AnonymousUser) -> None:
    if not is_staff_role(user_role(user=user)):
        raise PermissionDenied("Only agents see SLA settings.")


def require_admin(user: AbstractBaseUser | AnonymousUser) -> None:
    if user_role(user=user) != Role.ADMIN:
        raise PermissionDenied("Only admins change calendars and SLA policies.")


def calendar_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Calendar]:
    _require_staff(user)
    return Calendar.objects.order_by("name")


def calendar_get(*, user: AbstractBaseUser | AnonymousUser, calendar_id: int) -> Calendar:
    _require_staff(user)
    calendar = Calendar.objects.filter(pk=calendar_id).first()
    if calendar is None:
        raise NotFound(f"There is no calendar {calendar_id}.")
    return calendar


def policy_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Policy]:
    _require_staff(user)
    return Policy.objects.select_related("calendar").prefetch_related("targets").order_by("rank", "pk")


def policy_get(*, user: AbstractBaseUser | AnonymousUser, policy_id: int) -> Policy:
    _require_staff(user)
    policy = Policy.objects.select_related("calendar").prefetch_related("targets").filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(f"There is no SLA policy {policy_id}.")
    return policy


def policy_test(*, user: AbstractBaseUser | AnonymousUser, ticket: Ticket) -> Match | None:
    """Which active policy would match this ticket now, and why."""
    _require_staff(user)
    policies = list(Policy.objects.filter(is_active=True))
    return match_policy([adapters.policy_rule(p) for p in policies], adapters.ticket_facts(ticket))


@dataclass(frozen=True)
class ClockView:
    """A clock as faces show it."""

    metric: str
    cycle: int
    state: str
    is_business_time: bool
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    warned_at: datetime | None
    paused_at: datetime | None
    breached_at: datetime | None
    fulfilled_at: datetime | None
    business_seconds_remaining: int

    @property
    def is_warned(self) -> bool:
        return self.warned_at is not None and self.state == ClockState.RUNNING

    @property
    def is_late(self) -> bool:
        return self.breached_at is not None

    @property
    def colour(self) -> str:
        """green running · amber after warning · red after due · grey paused or done in time."""
        if self.state == ClockState.BREACHED or (self.state == ClockState.PAUSED and self.is_late):
            return "red"
        if self.state == ClockState.PAUSED:
            return "grey"
        if self.state == ClockState.FULFILLED:
            return "red" if self.is_late else "done"
        return "amber" if self.is_warned else "green"


@dataclass(frozen=True)
class TicketSla:
    policy_id: int | None
    policy_name: str
    reason: str
    clocks: list[ClockView]

    @property
    def current(self) -> list[ClockView]:
        """The clocks still counting or paused, then those done, latest cycle of each metric."""
        latest: dict[str, ClockView] = {}
        for clock in self.clocks:
            latest[clock.metric] = clock
        return list(latest.values())


def clock_views(clocks: list[Clock], *, now: datetime) -> list[ClockView]:
    views = []
    for row in clocks:
        clock = adapters.clock_to_core(row)
        remaining = clock.remaining(adapters.calendar_to_core(row.calendar, now=now), now)
        views.append(
            ClockView(
                metric=row.metric,
                cycle=row.cycle,
                state=row.state,
                is_business_time=row.calendar_id is not None,
                started_at=row.started_at,
                due_at=row.due_at,
                warn_at=row.warn_at,
                warned_at=row.warned_at,
                paused_at=row.paused_at,
                breached_at=row.breached_at,
                fulfilled_at=row.fulfilled_at,
                business_seconds_remaining=int(remaining // timedelta(seconds=1)),
            )
        )
    return views


ORDER = {"first_response": 0, "next_response": 1, "resolution": 2}


def ticket_sla(*, ticket: Ticket, now: datetime) -> TicketSla:
    """The ticket's policy, the reason it matched, and its clocks (caller checked access)."""
    binding = TicketPolicy.objects.filter(ticket=ticket).first()
    rows = sorted(Clock.objects.select_related("calendar").filter(ticket=ticket), key=lambda r: (ORDER.get(r.metric, 9), r.cycle))
    return TicketSla(
        policy_id=binding.policy_id if binding else None,
        policy_name=binding.policy_name if binding else "",
        reason=binding.reason if binding else "",
        clocks=clock_views(rows, now=now),
    )


def ticket_sla_many(*, ticket_ids: list[int], now: datetime) -> dict[int, list[ClockView]]:
    """The current clocks of many tickets at once (for lists): one query."""
    rows = Clock.objects.select_related("calendar").filter(ticket_id__in=ticket_ids).order_by("ticket_id", "metric", "cycle")
    grouped: dict[int, dict[str, Clock]] = {}
    for row in rows:
        grouped.setdefault(row.ticket_id, {})[row.metric] = row
    return {
        ticket_id: clock_views(sorted(by_metric.values(), key=lambda r: ORDER.get(r.metric, 9)), now=now)
        for ticket_id, by_metric in grouped.items()
    }


def sla_nearest_many(*, ticket_ids: list[int], now: datetime) -> dict[int, tuple[int, str]]:
    """For ranking: per ticket, the business seconds left on its nearest counting clock
    (negative once breached) and that clock's metric. Paused and met clocks do not count.
    Two queries; each calendar is converted once."""
    rows = list(
        Clock.objects.filter(
            ticket_id__in=ticket_ids, state__in=[ClockState.RUNNING, ClockState.BREACHED], paused_at__isnull=True
        ).defer("policy")
    )
    calendars = {
        c.pk: adapters.calendar_to_core(c, now=now) for c in Calendar.objects.filter(pk__in={r.calendar_id for r in rows})
    }
    nearest: dict[int, tuple[int, str]] = {}
    for row in rows:
        calendar = calendars[row.calendar_id] if row.calendar_id is not None else adapters.calendar_to_core(None, now=now)
        left = int(adapters.clock_to_core(row).remaining(calendar, now) // timedelta(seconds=1))
        if row.ticket_id not in nearest or left < nearest[row.ticket_id][0]:
            nearest[row.ticket_id] = (left, row.metric)
    return nearest
