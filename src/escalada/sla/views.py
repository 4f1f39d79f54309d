"""The SLA pages: settings (calendars, policies, the tester) and the chips ticket pages show.

Staff may look at every settings page; only admins change anything (`selectors.require_admin`),
and a refused change is a 403 page that changed nothing. Customers never see SLA data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from escalada.accounts.models import Role
from escalada.accounts.selectors import agent_profile_of, user_role
from escalada.base.errors import NotFound, PermissionDenied, ValidationFailed
from escalada.core.calendar import WEEKDAYS
from escalada.sla import adapters, selectors, services
from escalada.sla.forms import (
    DAY_NAMES,
    PRIORITIES,
    CalendarForm,
    IcsForm,
    PolicyForm,
    PreviewForm,
    TesterForm,
    format_intervals,
    show_service_errors,
)
from escalada.sla.models import Calendar, ClockState, HoursSource, Metric, Policy
from escalada.sla.selectors import ClockView
from escalada.sla.services import DEFAULT_PAUSE_STATUSES
from escalada.tickets.selectors import ticket_get_accessible

# --- formatting ----------------------------------------------------------------------------------


def viewer_zone(user: AbstractBaseUser | AnonymousUser) -> ZoneInfo:
    """The zone times are shown in: the agent's own, else UTC."""
    profile = agent_profile_of(user=user)
    try:
        return ZoneInfo(profile.time_zone if profile else "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def span(seconds: float) -> str:
    """A duration as people read it: "42 min", "2 h 10 min", "3 d 4 h" (floored; countdown.js
    writes the same)."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def relative(at: datetime, now: datetime) -> str:
    seconds = (at - now).total_seconds()
    if seconds >= 0:
        return f"in {span(seconds)}"
    return "just now" if seconds > -60 else f"{span(-seconds)} ago"


def absolute(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M} {local.tzname()}"


def wall(at: datetime, zone: ZoneInfo, now: datetime) -> str:
    """A short wall time: "14:30" today, "Tue 10:00" this week, "3 Dec 10:00" later."""
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    if local.date() == today:
        return f"{local:%H:%M}"
    if abs((local.date() - today).days) < 7:
        return f"{local:%a %H:%M}"
    return f"{local.day} {local:%b %H:%M}"


def iso_utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def minutes_text(minutes: int) -> str:
    return span(minutes * 60)


# --- chips ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chip:
    """One SLA clock as a chip: `text`, then a countdown to or from `countdown_at` (refreshed by
    countdown.js), then `after`; `title` holds the absolute times."""

    label: str
    colour: str
    text: str
    title: str
    countdown_at: str = ""
    countdown_text: str = ""
    after: str = ""


def _chip(clock: ClockView, *, now: datetime, zone: ZoneInfo, status_label: str) -> Chip:
    label = Metric(clock.metric).label
    kind = "business time" if clock.is_business_time else "calendar time"
    # A breach is dated at the due instant that passed.
    late = f"; breached when it was due {absolute(clock.breached_at, zone)}" if clock.breached_at else ""
    if clock.state == ClockState.FULFILLED:
        met = absolute(clock.fulfilled_at, zone) if clock.fulfilled_at else "—"
        return Chip(
            label, clock.colour, "met late" if clock.is_late else "met", f"{label} met {met}{late or ', in time'} ({kind})"
        )
    if clock.state == ClockState.PAUSED:
        since = absolute(clock.paused_at, zone) if clock.paused_at else "—"
        title = f"Paused since {since} while the ticket is {status_label.lower()}{late} ({kind})"
        if clock.breached_at is not None:
            return Chip(label, clock.colour, f"paused · breached {relative(clock.breached_at, now)}", title)
        return Chip(label, clock.colour, f"paused · {span(clock.business_seconds_remaining)} of {kind} left", title)
    if clock.state == ClockState.BREACHED and clock.breached_at is not None:
        title = f"{label} was due {absolute(clock.breached_at, zone)} ({kind})"
        return Chip(label, "red", "breached ", title, iso_utc(clock.breached_at), relative(clock.breached_at, now))
    if clock.due_at is None:
        return Chip(label, clock.colour, f"running ({kind})", f"{label}: {kind}")
    title = f"{label} due {absolute(clock.due_at, zone)} ({kind})"
    # The timer worker records warnings and breaches within seconds; until it has, the chip
    # already shows what the instants say.
    colour = "amber" if clock.colour == "green" and clock.warn_at is not None and clock.warn_at <= now else clock.colour
    if clock.due_at <= now:
        return Chip(
            label,
            "red",
            f"overdue · was due {wall(clock.due_at, zone, now)} (",
            title,
            iso_utc(clock.due_at),
            relative(clock.due_at, now),
            ")",
        )
    if not clock.is_business_time:
        return Chip(label, colour, "due ", title, iso_utc(clock.due_at), relative(clock.due_at, now), " (calendar time)")
    # Business time: how much of it is left is the server's figure as of this page (the browser
    # does not know the calendar's closings and holidays). The due instant itself does not move
    # while the clock runs, so the countdown shows the honest wall time until it.
    text = f"due in {span(clock.business_seconds_remaining)} of business time · {wall(clock.due_at, zone, now)} ("
    return Chip(
        label,
        colour,
        text,
        f"{title}; {span(clock.business_seconds_remaining)} of business time left when this page loaded",
        iso_utc(clock.due_at),
        relative(clock.due_at, now),
        ")",
    )


def sla_chips(clocks: list[ClockView], *, now: datetime, zone: ZoneInfo, status_label: str) -> list[Chip]:
    return [_chip(clock, now=now, zone=zone, status_label=status_label) for clock in clocks]


# --- settings: shared ----------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return render(request, "sla/forbidden.html", {"nav": "settings", "message": exc.message}, status=403)


def _is_admin(user: User) -> bool:
    return user_role(user=user) == Role.ADMIN


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _read_only(form: PolicyForm | CalendarForm) -> None:
    for field in form.fields.values():
        field.disabled = True


def week_summary(weekly: dict[str, list[list[str]]]) -> str:
    """Runs of days with the same hours together: "Mon–Fri 09:00–17:00 · Sat 10:00–14:00"."""
    runs: list[tuple[list[str], str]] = []
    for day in WEEKDAYS:
        hours = format_intervals(weekly.get(day, []), dash="–")
        if runs and runs[-1][1] == hours:
            runs[-1][0].append(day)
        else:
            runs.append(([day], hours))
    parts = [f"{days[0].title()}{'–' + days[-1].title() if len(days) > 1 else ''} {hours}" for days, hours in runs if hours]
    return " · ".join(parts) or "never open"


def holidays_summary(calendar: Calendar) -> str:
    count = len(calendar.holidays)
    text = f"{count} date{'s' if count != 1 else ''}"
    if calendar.holiday_country:
        region = "-".join(filter(None, [calendar.holiday_country, calendar.holiday_subdivision]))
        text += f" + public holidays of {region}"
    return text


def conditions_summary(policy: Policy) -> str:
    try:
        conditions = adapters.conditions_of(policy.conditions)
    except (KeyError, ValueError):
        return str(policy.conditions)
    return ", ".join(c.describe() for c in conditions) or "every ticket"


def hours_summary(policy: Policy) -> str:
    if not policy.is_business_time:
        return "calendar time (around the clock)"
    name = policy.calendar.name if policy.calendar else "no calendar"
    if policy.hours_source == HoursSource.ORGANIZATION:
        return f"the customer's hours, else {name}"
    if policy.hours_source == HoursSource.TEAM:
        return f"the team's hours, else {name}"
    return name


def targets_summary(policy: Policy) -> list[str]:
    """A line per priority: "Urgent: first response 30 min · resolution 4 h"."""
    by_priority: dict[str, list[str]] = {}
    order = {metric.value: index for index, metric in enumerate(Metric)}
    for target in sorted(policy.targets.all(), key=lambda t: order.get(t.metric, 9)):
        by_priority.setdefault(target.priority, []).append(
            f"{Metric(target.metric).label.lower()} {minutes_text(target.minutes)}"
        )
    return [f"{priority.label}: {' · '.join(by_priority[priority])}" for priority in PRIORITIES if priority in by_priority]


# --- settings: the overview ----------------------------------------------------------------------


@login_required
def sla_settings(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    try:
        calendars = list(selectors.calendar_list(user=user))
        policies = list(selectors.policy_list(user=user))
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    context = {
        "nav": "settings",
        "is_admin": _is_admin(user),
        "calendars": [{"row": c, "week": week_summary(c.weekly), "holidays": holidays_summary(c)} for c in calendars],
        "policies": [
            {"row": p, "conditions": conditions_summary(p), "hours": hours_summary(p), "targets": targets_summary(p)}
            for p in policies
        ],
        "tester_form": TesterForm(),
    }
    return render(request, "sla/settings.html", context)


# --- calendars -----------------------------------------------------------------------------------


def _calendar_or_none(user: User, calendar_id: int | None) -> Calendar | None:
    """The calendar to edit (None for a new one); raises NotFound or PermissionDenied."""
    if calendar_id is None:
        selectors.calendar_list(user=user)  # the same staff check as for a saved calendar
        return None
    return selectors.calendar_get(user=user, calendar_id=calendar_id)


def _calendar_page(
    request: HttpRequest, calendar: Calendar | None, form: CalendarForm | None = None, ics_form: IcsForm | None = None
) -> HttpResponse:
    user = _user(request)
    is_admin = _is_admin(user)
    has_errors = bool((form and form.errors) or (ics_form and ics_form.errors))
    form = form or CalendarForm(
        initial=CalendarForm.initial_of(calendar)
        if calendar
        else {"time_zone": "UTC", **dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "09:00-17:00")}
    )
    if not is_admin:
        _read_only(form)
    context = {
        "nav": "settings",
        "calendar": calendar,
        "form": form,
        "ics_form": ics_form or IcsForm(),
        "preview_form": PreviewForm(initial={"minutes": 120}),
        "is_admin": is_admin,
        "day_names": DAY_NAMES,
    }
    return render(request, "sla/calendar_form.html", context, status=422 if has_errors else 200)


def _calendar_import(request: HttpRequest, calendar: Calendar) -> HttpResponse:
    ics_form = IcsForm(request.POST, request.FILES)
    if ics_form.is_valid():
        before = len(calendar.holidays)
        try:
            result = services.calendar_import_ics(
                calendar=calendar, content=ics_form.cleaned_data["file"].read(), actor=_user(request)
            )
        except ValidationFailed as exc:
            show_service_errors(ics_form, exc)
        else:
            added = len(result.calendar.holidays) - before
            messages.success(
                request,
                f"Imported {added} new holiday{'s' if added != 1 else ''}; "
                f"{result.clocks_recomputed} running clock{'s' if result.clocks_recomputed != 1 else ''} recomputed.",
            )
            return redirect("sla-calendar-edit", calendar_id=calendar.pk)
    return _calendar_page(request, calendar, ics_form=ics_form)


@login_required
def calendar_edit(request: HttpRequest, calendar_id: int | None = None) -> HttpResponse:
    user = _user(request)
    try:
        calendar = _calendar_or_none(user, calendar_id)
        if request.method == "POST":
            selectors.require_admin(user)
    except NotFound:
        raise Http404("No such calendar.") from None
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    if request.method != "POST":
        return _calendar_page(request, calendar)
    if calendar is not None and request.POST.get("action") == "import":
        return _calendar_import(request, calendar)
    form = CalendarForm(request.POST)
    if form.is_valid():
        try:
            if calendar is None:
                created = services.calendar_create(data=form.calendar_data(), actor=user)
                messages.success(request, f"Calendar {created.name} created.")
                return redirect("sla-calendar-edit", calendar_id=created.pk)
            result = services.calendar_update(calendar=calendar, data=form.calendar_data(), actor=user)
        except ValidationFailed as exc:
            show_service_errors(form, exc)
        else:
            moved = result.clocks_recomputed
            messages.success(request, f"Calendar saved; {moved} running clock{'s' if moved != 1 else ''} recomputed.")
            return redirect("sla-calendar-edit", calendar_id=calendar.pk)
    return _calendar_page(request, calendar, form=form)


@login_required
def calendar_preview(request: HttpRequest, calendar_id: int) -> HttpResponse:
    """When `minutes` of this (saved) calendar's time, counted from `start`, run out."""
    user = _user(request)
    try:
        calendar = selectors.calendar_get(user=user, calendar_id=calendar_id)
    except NotFound:
        raise Http404("No such calendar.") from None
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    form = PreviewForm(request.POST if request.method == "POST" else request.GET)
    result: dict[str, Any] | None = None
    if form.is_valid():
        zone = ZoneInfo(calendar.time_zone)
        start = form.start_in(zone)
        if start is not None:
            try:
                core = adapters.calendar_to_core(calendar, now=timezone.now())
                due = core.add(start, form.duration())
                counting_from = core.next_open(start)
            except (ValueError, OverflowError) as exc:
                form.add_error("minutes", str(exc))
            else:
                result = {
                    "start": absolute(start, zone),
                    "counting_from": absolute(counting_from, zone) if counting_from != start else "",
                    "due_local": absolute(due, zone),
                    "due_utc": f"{due.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
                    "due_iso": iso_utc(due),
                    "minutes": form.cleaned_data["minutes"],
                }
    # htmx swaps only 2xx answers: errors come back in a 200 partial; without htmx, a 422.
    status = 422 if form.errors and not _is_htmx(request) else 200
    return render(request, "sla/_preview.html", {"calendar": calendar, "form": form, "result": result}, status=status)


# --- policies ------------------------------------------------------------------------------------


def _policy_page(request: HttpRequest, policy: Policy | None, form: PolicyForm | None = None) -> HttpResponse:
    user = _user(request)
    is_admin = _is_admin(user)
    if form is None:
        new = {"is_active": True, "is_business_time": "business", "hours_source": HoursSource.POLICY, "rank": 100}
        new |= {f"pause_{metric}": statuses for metric, statuses in DEFAULT_PAUSE_STATUSES.items()}
        form = PolicyForm(initial=PolicyForm.initial_of(policy) if policy else new)
    if not is_admin:
        _read_only(form)
    context = {"nav": "settings", "policy": policy, "form": form, "is_admin": is_admin}
    return render(request, "sla/policy_form.html", context, status=422 if form.errors else 200)


@login_required
def policy_edit(request: HttpRequest, policy_id: int | None = None) -> HttpResponse:
    user = _user(request)
    try:
        if policy_id is None:
            selectors.policy_list(user=user)  # the staff check
            policy = None
        else:
            policy = selectors.policy_get(user=user, policy_id=policy_id)
        if request.method == "POST":
            selectors.require_admin(user)
    except NotFound:
        raise Http404("No such SLA policy.") from None
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    if request.method != "POST":
        return _policy_page(request, policy)
    form = PolicyForm(request.POST)
    if form.is_valid():
        data = form.policy_data()
        try:
            if policy is None:
                policy = services.policy_create(data=data, actor=user)
                messages.success(request, f"Policy {policy.name} created.")
            else:
                services.policy_update(policy=policy, data=data, actor=user)
                messages.success(
                    request, f"Policy {data['name']} saved. Tickets already on it keep their clocks until they are matched again."
                )
        except ValidationFailed as exc:
            form.show_errors(exc)
        else:
            return redirect("sla-settings")
    return _policy_page(request, policy, form)


@login_required
def policy_tester(request: HttpRequest) -> HttpResponse:
    """Which active policy a ticket would match now, and why (next to the one it is on)."""
    user = _user(request)
    form = TesterForm((request.POST if request.method == "POST" else request.GET) or None)
    outcome: dict[str, Any] | None = None
    try:
        selectors.policy_list(user=user)  # staff only, before any ticket is looked up
        if form.is_valid():
            number = form.cleaned_data["ticket"]
            try:
                # A ticket's number is its row id (see tickets.services.ticket_create).
                ticket = ticket_get_accessible(user=user, ticket_id=number)
            except NotFound:
                form.add_error("ticket", f"There is no ticket #{number}.")
            else:
                match = selectors.policy_test(user=user, ticket=ticket)
                current = selectors.ticket_sla(ticket=ticket, now=timezone.now())
                outcome = {"ticket": ticket, "match": match, "current": current.policy_name}
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    context = {"nav": "settings", "tester_form": form, "outcome": outcome}
    if _is_htmx(request):
        return render(request, "sla/_tester_result.html", context)
    return render(request, "sla/tester.html", context, status=422 if form.errors else 200)
