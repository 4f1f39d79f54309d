from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status

from escalada.accounts.models import Team
from escalada.base.errors import NotFound, ValidationFailed
from escalada.base.schemas import ErrorOut
from escalada.core.calendar import MAX_HORIZON, BusinessCalendar, ContinuousCalendar
from escalada.customers.models import Organization
from escalada.sla import adapters, selectors, services
from escalada.sla.models import Calendar
from escalada.sla.schemas import (
    CalendarIn,
    CalendarOut,
    CalendarPatchIn,
    CalendarUpdateOut,
    HoursIn,
    HoursOut,
    PolicyIn,
    PolicyOut,
    PolicyPatchIn,
    PolicyTestIn,
    PolicyTestOut,
    PreviewIn,
    PreviewOut,
    calendar_out,
)
from escalada.tickets.selectors import ticket_get_accessible

router = Router(tags=["sla"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


# --- calendars ---------------------------------------------------------------------------------


@router.get("/sla/calendars", response={200: list[CalendarOut], **ERRORS}, summary="List business calendars")
def calendar_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [calendar_out(c) for c in selectors.calendar_list(user=_user(request))]


@router.post("/sla/calendars", response={201: CalendarOut, **ERRORS}, summary="Create a business calendar")
def calendar_create(request: HttpRequest, payload: CalendarIn) -> Status[dict[str, Any]]:
    user = _user(request)
    selectors.require_admin(user)
    calendar = services.calendar_create(data=services.CalendarData(**payload.model_dump()), actor=user)  # type: ignore[typeddict-item]
    return Status(201, calendar_out(calendar))


@router.get("/sla/calendars/{id:calendar_id}", response={200: CalendarOut, **ERRORS}, summary="Get a business calendar")
def calendar_get(request: HttpRequest, calendar_id: int) -> dict[str, Any]:
    return calendar_out(selectors.calendar_get(user=_user(request), calendar_id=calendar_id))


@router.patch("/sla/calendars/{id:calendar_id}", response={200: CalendarUpdateOut, **ERRORS}, summary="Change a calendar")
def calendar_update(request: HttpRequest, calendar_id: int, payload: CalendarPatchIn) -> dict[str, Any]:
    """Send only what changes. Every running clock on the calendar gets its due instant moved
    (`clocks_recomputed` says how many)."""
    user = _user(request)
    selectors.require_admin(user)
    sent = payload.model_dump(exclude_unset=True)
    nulls = [name for name, value in sent.items() if value is None]
    if nulls:
        raise ValidationFailed(dict.fromkeys(nulls, "Cannot be null."))
    calendar = selectors.calendar_get(user=user, calendar_id=calendar_id)
    result = services.calendar_update(calendar=calendar, data=services.CalendarData(**sent), actor=user)  # type: ignore[typeddict-item]
    return calendar_out(result.calendar, clocks_recomputed=result.clocks_recomputed)


@router.post(
    "/sla/calendars/{id:calendar_id}/holidays/import",
    response={200: CalendarUpdateOut, **ERRORS},
    summary="Add holidays from an ICS file",
)
def calendar_import_ics(request: HttpRequest, calendar_id: int) -> dict[str, Any]:
    """Send the .ics file as the body (text/calendar) or as the `file` field of a form. Its
    all-day events become holidays; timed events are skipped."""
    user = _user(request)
    selectors.require_admin(user)
    calendar = selectors.calendar_get(user=user, calendar_id=calendar_id)
    upload = request.FILES.get("file")
    content = upload.read() if upload is not None else request.read()
    result = services.calendar_import_ics(calendar=calendar, content=content, actor=user)
    return calendar_out(result.calendar, clocks_recomputed=result.clocks_recomputed)


@router.delete("/sla/calendars/{id:calendar_id}", response={204: None, **ERRORS}, summary="Delete an unused calendar")
def calendar_delete(request: HttpRequest, calendar_id: int) -> Status[None]:
    user = _user(request)
    selectors.require_admin(user)
    services.calendar_delete(calendar=selectors.calendar_get(user=user, calendar_id=calendar_id), actor=user)
    return Status(204, None)


@router.put("/sla/teams/{id:team_id}/calendar", response={200: HoursOut, **ERRORS}, summary="Set a team's business hours")
def team_hours(request: HttpRequest, team_id: int, payload: HoursIn) -> dict[str, Any]:
    """For policies that count in the team's hours (`hours_source: team`)."""
    user = _user(request)
    selectors.require_admin(user)
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise NotFound(f"There is no team {team_id}.")
    services.hours_link(calendar=_calendar_ref(user, payload.calendar_id), team=team, actor=user)
    return {"calendar_id": payload.calendar_id}


@router.put(
    "/sla/organizations/{id:organization_id}/calendar",
    response={200: HoursOut, **ERRORS},
    summary="Set a customer's business hours",
)
def organization_hours(request: HttpRequest, organization_id: int, payload: HoursIn) -> dict[str, Any]:
    """For policies that count in the customer's hours (`hours_source: organization`)."""
    user = _user(request)
    selectors.require_admin(user)
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        raise NotFound(f"There is no organization {organization_id}.")
    services.hours_link(calendar=_calendar_ref(user, payload.calendar_id), organization=organization, actor=user)
    return {"calendar_id": payload.calendar_id}


# --- policies ----------------------------------------------------------------------------------


def _calendar_ref(user: User, calendar_id: int | None) -> Calendar | None:
    if calendar_id is None:
        return None
    calendar = Calendar.objects.filter(pk=calendar_id).first()
    if calendar is None:
        raise ValidationFailed.one("calendar_id", f"There is no calendar {calendar_id}.")
    return calendar


def _policy_data(user: User, sent: dict[str, Any]) -> services.PolicyData:
    data: dict[str, Any] = {key: value for key, value in sent.items() if key != "calendar_id"}
    if "calendar_id" in sent:
        data["calendar"] = _calendar_ref(user, sent["calendar_id"])
    policy_data: services.PolicyData = services.PolicyData(**data)  # type: ignore[typeddict-item]
    return policy_data


@router.get("/sla/policies", response={200: list[PolicyOut], **ERRORS}, summary="List SLA policies by rank")
def policy_list(request: HttpRequest) -> list[Any]:
    return list(selectors.policy_list(user=_user(request)))


@router.post("/sla/policies", response={201: PolicyOut, **ERRORS}, summary="Create an SLA policy")
def policy_create(request: HttpRequest, payload: PolicyIn) -> Status[Any]:
    user = _user(request)
    selectors.require_admin(user)
    sent = payload.model_dump(exclude_unset=True)
    sent.setdefault("targets", [])
    sent.setdefault("conditions", [])
    policy = services.policy_create(data=_policy_data(user, sent), actor=user)
    return Status(201, selectors.policy_get(user=user, policy_id=policy.pk))


@router.get("/sla/policies/{id:policy_id}", response={200: PolicyOut, **ERRORS}, summary="Get an SLA policy")
def policy_get(request: HttpRequest, policy_id: int) -> Any:
    return selectors.policy_get(user=_user(request), policy_id=policy_id)


@router.patch("/sla/policies/{id:policy_id}", response={200: PolicyOut, **ERRORS}, summary="Change an SLA policy")
def policy_update(request: HttpRequest, policy_id: int, payload: PolicyPatchIn) -> Any:
    """Send only what changes; `targets` replaces the whole list. Tickets already on the policy
    keep their clocks until something they match on changes."""
    user = _user(request)
    selectors.require_admin(user)
    sent = payload.model_dump(exclude_unset=True)
    nulls = [name for name, value in sent.items() if value is None and name != "calendar_id"]
    if nulls:
        raise ValidationFailed(dict.fromkeys(nulls, "Cannot be null."))
    policy = selectors.policy_get(user=user, policy_id=policy_id)
    services.policy_update(policy=policy, data=_policy_data(user, sent), actor=user)
    return selectors.policy_get(user=user, policy_id=policy_id)


@router.delete("/sla/policies/{id:policy_id}", response={204: None, **ERRORS}, summary="Delete an SLA policy")
def policy_delete(request: HttpRequest, policy_id: int) -> Status[None]:
    user = _user(request)
    selectors.require_admin(user)
    services.policy_delete(policy=selectors.policy_get(user=user, policy_id=policy_id), actor=user)
    return Status(204, None)


@router.post("/sla/policies/test", response={200: PolicyTestOut, **ERRORS}, summary="Which policy would match this ticket")
def policy_test(request: HttpRequest, payload: PolicyTestIn) -> dict[str, Any]:
    user = _user(request)
    ticket = ticket_get_accessible(user=user, ticket_id=payload.ticket_id)
    match = selectors.policy_test(user=user, ticket=ticket)
    if match is None:
        return {"policy_id": None, "name": None, "reason": "No active policy matches this ticket."}
    return {"policy_id": match.policy_id, "name": match.name, "reason": match.reason}


# --- preview -----------------------------------------------------------------------------------


@router.post("/sla/preview", response={200: PreviewOut, **ERRORS}, summary="When would a target be due")
def sla_preview(request: HttpRequest, payload: PreviewIn) -> dict[str, Any]:
    """The breach instant of `minutes` counted from `start` on a calendar (saved or not)."""
    user = _user(request)
    errors: dict[str, str] = {}
    if payload.calendar_id is not None and payload.calendar is not None:
        errors["calendar"] = "Give a calendar_id or a calendar, not both."
    duration = timedelta(minutes=payload.minutes) if abs(payload.minutes) < 1e9 else MAX_HORIZON * 2
    if duration < timedelta(0):
        errors["minutes"] = "A target cannot be negative."
    elif duration > MAX_HORIZON:
        errors["minutes"] = f"A target can be at most {MAX_HORIZON.days} days (ten years)."
    if errors:
        raise ValidationFailed(errors)
    calendar: BusinessCalendar | ContinuousCalendar
    if payload.calendar is not None:
        inline = payload.calendar.model_dump()
        problems = services.calendar_problems(inline)
        if problems:
            raise ValidationFailed({f"calendar.{key}": message for key, message in problems.items()})
        calendar = adapters.calendar_build(**inline, this_year=timezone.now().year)
    else:
        row = selectors.calendar_get(user=user, calendar_id=payload.calendar_id) if payload.calendar_id else None
        if row is None:
            selectors.calendar_list(user=user)  # the same staff check as for a saved calendar
        calendar = adapters.calendar_to_core(row, now=timezone.now())
    try:
        due = calendar.add(payload.start, duration)
    except OverflowError:
        raise ValidationFailed.one("start", "The due time would fall outside the years 1-9999; give a nearer start.") from None
    except ValueError as exc:
        raise ValidationFailed.one("calendar_id" if payload.calendar_id else "calendar", str(exc)) from None
    try:
        is_open, counting_starts_at = calendar.is_open(payload.start), calendar.next_open(payload.start)
    except OverflowError:
        raise ValidationFailed.one("start", "Give a start within the years 1-9999.") from None
    return {
        "due_at": due,
        "is_open_at_start": is_open,
        "counting_starts_at": counting_starts_at,
        "business_time": payload.calendar is not None or payload.calendar_id is not None,
    }
