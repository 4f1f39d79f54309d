"""Writes on calendars and SLA policies. Each public function is one transaction and records one
Event on the calendar's or policy's stream.

Editing a calendar moves the due instants of every running clock on it, in the same transaction
(so the timer worker never fires on a stale instant): the time already used is kept as counted
under the old hours; what is left counts under the new ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypedDict

import holidays as holiday_sets
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from escalada.accounts.models import Team
from escalada.audit.models import Change
from escalada.audit.services import event_record
from escalada.base.errors import Conflict, ValidationFailed, duplicates_refused
from escalada.base.timezones import is_timezone
from escalada.base.wake import wake_workers
from escalada.core.calendar import MAX_HORIZON, WEEKDAYS, BusinessCalendar
from escalada.core.matching import Condition, Operator, condition_problem
from escalada.core.sla import Calendar as CoreCalendar
from escalada.core.sla import clock_pause, clock_resume
from escalada.customers.models import Organization
from escalada.sla import adapters
from escalada.sla.models import (
    Calendar,
    Clock,
    ClockState,
    HoursSource,
    Metric,
    OrganizationCalendar,
    Policy,
    Target,
    TeamCalendar,
    TicketPolicy,
    TimesMoved,
)
from escalada.tickets.models import Priority, Status

RECOMPUTE_BATCH = 2000
MAX_TARGET_MINUTES = MAX_HORIZON.days * 24 * 60
PAUSABLE = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
DEFAULT_PAUSE_STATUSES: dict[str, list[str]] = {
    Metric.FIRST_RESPONSE: [],
    Metric.NEXT_RESPONSE: [Status.PENDING, Status.ON_HOLD],
    Metric.RESOLUTION: [Status.PENDING, Status.ON_HOLD],
}


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


# --- calendars ---------------------------------------------------------------------------------


class CalendarData(TypedDict, total=False):
    name: str
    time_zone: str
    weekly: dict[str, list[list[str]]]
    holidays: list[str]
    holiday_country: str
    holiday_subdivision: str


def _check_weekly(weekly: Any) -> dict[str, str]:
    if not isinstance(weekly, dict):
        return {"weekly": 'Give the opening hours per weekday, e.g. {"mon": [["09:00", "17:00"]]}.'}
    errors: dict[str, str] = {}
    for day, intervals in weekly.items():
        if day not in WEEKDAYS:
            errors[f"weekly.{day}"] = f"{day!r} is not a weekday; use {', '.join(WEEKDAYS)}."
            continue
        if not isinstance(intervals, list) or not all(
            isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(t, str) for t in pair) for pair in intervals
        ):
            errors[f"weekly.{day}"] = f'{day}: give a list of [open, close] pairs such as ["09:00", "17:00"].'
            continue
        try:
            BusinessCalendar(timezone="UTC", weekly={day: [(o, c) for o, c in intervals]})
        except ValueError as exc:
            errors[f"weekly.{day}"] = str(exc)
    if not errors and not any(weekly.get(day) for day in WEEKDAYS):
        errors["weekly"] = "This calendar is never open: give it opening hours on at least one weekday."
    return errors


def _is_iso_date(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_holidays(values: Any) -> dict[str, str]:
    if not isinstance(values, list):
        return {"holidays": 'Give holidays as a list of dates like "2026-12-25".'}
    for index, value in enumerate(values):
        if not _is_iso_date(value):
            return {f"holidays[{index}]": f"{value!r} is not a date like 2026-12-25."}
    return {}


def holiday_country_problem(country: str, subdivision: str) -> dict[str, str]:
    if not country:
        return {"holiday_subdivision": "A subdivision needs a country."} if subdivision else {}
    supported = holiday_sets.list_supported_countries()
    if country not in supported:
        return {"holiday_country": f"{country!r} is not a country code the holidays library knows (e.g. DE, US, FR)."}
    if subdivision and subdivision not in supported[country]:
        shown = ", ".join(supported[country][:12])
        return {"holiday_subdivision": f"{subdivision!r} is not a subdivision of {country}; use one of {shown}…"}
    return {}


def calendar_problems(data: dict[str, Any]) -> dict[str, str]:
    """What is wrong with an unsaved calendar's hours (zone, week, holidays), by field."""
    return _check_calendar(CalendarData(**data), instance=None, needs_name=False)  # type: ignore[typeddict-item]


def _check_calendar(data: CalendarData, *, instance: Calendar | None, needs_name: bool = True) -> dict[str, str]:
    errors: dict[str, str] = {}
    if needs_name and ("name" in data or instance is None):
        name = " ".join(data.get("name", "").split())
        if not 1 <= len(name) <= 100:
            errors["name"] = "Give the calendar a name of 1 to 100 characters."
        elif Calendar.objects.filter(name__iexact=name).exclude(pk=instance.pk if instance else 0).exists():
            errors["name"] = f"A calendar named {name!r} exists already."
    if "time_zone" in data or instance is None:
        zone = data.get("time_zone", "")
        if not is_timezone(zone):
            errors["time_zone"] = f"{zone!r} is not an IANA time zone such as Europe/Berlin."
    if "weekly" in data or instance is None:
        errors.update(_check_weekly(data.get("weekly", {})))
    if "holidays" in data:
        errors.update(_check_holidays(data["holidays"]))
    country = data.get("holiday_country", instance.holiday_country if instance else "").upper()
    subdivision = data.get("holiday_subdivision", instance.holiday_subdivision if instance else "").upper()
    errors.update(holiday_country_problem(country, subdivision))
    return errors


def _calendar_snapshot(calendar: Calendar) -> dict[str, Any]:
    return {
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "weekly": calendar.weekly,
        "holidays": calendar.holidays,
        "holiday_country": calendar.holiday_country,
        "holiday_subdivision": calendar.holiday_subdivision,
    }


def _apply_calendar(calendar: Calendar, data: CalendarData) -> None:
    if "name" in data:
        calendar.name = " ".join(data["name"].split())
    if "time_zone" in data:
        calendar.time_zone = data["time_zone"]
    if "weekly" in data:
        calendar.weekly = {day: [list(pair) for pair in data["weekly"][day]] for day in WEEKDAYS if data["weekly"].get(day)}
    if "holidays" in data:
        calendar.holidays = sorted(set(data["holidays"]))
    if "holiday_country" in data:
        calendar.holiday_country = data["holiday_country"].upper()
    if "holiday_subdivision" in data:
        calendar.holiday_subdivision = data["holiday_subdivision"].upper()


@transaction.atomic
def calendar_create(*, data: CalendarData, actor: User | None, now: datetime | None = None) -> Calendar:
    errors = _check_calendar(data, instance=None)
    if errors:
        raise ValidationFailed(errors)
    at = _now(now)
    calendar = Calendar(created_at=at, updated_at=at)
    _apply_calendar(calendar, data)
    _require_open_time(calendar, now=at)
    with duplicates_refused(
        lambda: _check_calendar(data, instance=None), field="name", message="A calendar with this name exists already."
    ):
        calendar.save()
    event_record(
        subject_type="sla_calendar",
        subject_id=calendar.pk,
        kind="calendar.created",
        is_new_subject=True,
        actor=actor,
        occurred_at=at,
        after=_calendar_snapshot(calendar),
    )
    return calendar


def _require_open_time(calendar: Calendar, *, now: datetime) -> None:
    """Holidays may not close a calendar for its whole ten-year horizon: every target on it
    would then have no due instant."""
    core = adapters.calendar_to_core(calendar, now=now)
    try:
        core.add(now, timedelta(minutes=1))
    except ValueError as exc:
        raise ValidationFailed.one("holidays", str(exc)) from None


@dataclass(frozen=True)
class CalendarUpdate:
    calendar: Calendar
    clocks_recomputed: int


@transaction.atomic
def calendar_update(*, calendar: Calendar, data: CalendarData, actor: User | None, now: datetime | None = None) -> CalendarUpdate:
    """Change a calendar and move the due instants of the running clocks on it."""
    errors = _check_calendar(data, instance=calendar)
    if errors:
        raise ValidationFailed(errors)
    at = _now(now)
    calendar = Calendar.objects.select_for_update().get(pk=calendar.pk)
    before = _calendar_snapshot(calendar)
    old_core = adapters.calendar_to_core(calendar, now=at)
    _apply_calendar(calendar, data)
    _require_open_time(calendar, now=at)
    after = _calendar_snapshot(calendar)
    changed = [key for key in after if before[key] != after[key]]
    if not changed:
        return CalendarUpdate(calendar=calendar, clocks_recomputed=0)
    calendar.version += 1
    calendar.updated_at = at
    with duplicates_refused(
        lambda: _check_calendar(data, instance=calendar), field="name", message="A calendar with this name exists already."
    ):
        calendar.save(update_fields=[*changed, "version", "updated_at"])
    moved = 0
    if set(changed) - {"name"}:
        moved = _recompute_running_clocks(calendar=calendar, old_core=old_core, now=at)
        _times_moved(calendar=calendar, now=at)
    event_record(
        subject_type="sla_calendar",
        subject_id=calendar.pk,
        kind="calendar.updated",
        actor=actor,
        occurred_at=at,
        before={key: before[key] for key in changed},
        after={**{key: after[key] for key in changed}, "clocks_recomputed": moved},
    )
    return CalendarUpdate(calendar=calendar, clocks_recomputed=moved)


def _recompute_running_clocks(*, calendar: Calendar, old_core: CoreCalendar, now: datetime) -> int:
    """Re-schedule every running clock on the calendar: time used until `now` counted under
    the old hours, the rest under the new. Batched by id; the caller's transaction holds them all.

    This reads column values rather than model instances and writes with one prepared UPDATE
    per clock (executemany): Django's bulk_update builds a CASE expression per field and row,
    which cost seconds per thousand clocks.
    """
    new_core = adapters.calendar_to_core(calendar, now=now)
    wake_workers()
    quote = connection.ops.quote_name
    written = ("consumed_us", "running_since", "due_at", "warn_at", "next_fire_at", "paused_at", "state")
    assignments = ", ".join(f"{quote(name)} = %s" for name in written)
    sql = (
        f"UPDATE {quote(Clock._meta.db_table)} SET {assignments}, {quote('fence')} = {quote('fence')} + 1 "  # noqa: S608 - names from the model
        f"WHERE {quote('id')} = %s"
    )
    moment = connection.ops.adapt_datetimefield_value
    moved = 0
    last_pk = 0
    while True:
        batch = list(
            Clock.objects.select_for_update()
            .filter(calendar=calendar, state=ClockState.RUNNING, pk__gt=last_pk)
            # A clock already past its due instant breached under the hours that applied then:
            # the worker dates that breach at its due instant. A warning that is due but not yet
            # fired is rescheduled with the rest and fires at once (it is not lost).
            .exclude(due_at__lte=now)
            .order_by("pk")
            .values("id", *adapters.CORE_FIELDS)[:RECOMPUTE_BATCH]
        )
        if not batch:
            return moved
        params: list[tuple[Any, ...]] = []
        for values in batch:
            # Bring the used time up to now under the old hours, then count on under the new.
            held = clock_pause(adapters.clock_from_values(values), calendar=old_core, now=now)
            clock = clock_resume(held, calendar=new_core, now=now)
            params.append(
                (
                    int(clock.consumed / timedelta(microseconds=1)),
                    moment(clock.running_since),
                    moment(clock.due_at),
                    moment(clock.warn_at),
                    moment(adapters.next_fire_at(clock)),
                    moment(clock.paused_at),
                    clock.state.value,
                    values["id"],
                )
            )
        _write_batch(sql, params)
        moved += len(batch)
        last_pk = batch[-1]["id"]


def _times_moved(*, calendar: Calendar, now: datetime) -> None:
    """Mark the open tickets counting in `calendar` (a running or paused clock on it) for the
    escalation ladder to follow: offsets in business time and the clocks' instants moved. One
    INSERT … SELECT over the (calendar, state) index; a ticket marked already stays marked."""
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(TimesMoved._meta.db_table)} (ticket_id, moved_at) "  # noqa: S608 - names from the model
        f"SELECT DISTINCT ticket_id, %s FROM {quote(Clock._meta.db_table)} WHERE calendar_id = %s AND state IN (%s, %s) "
        "ON CONFLICT (ticket_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [connection.ops.adapt_datetimefield_value(now), calendar.pk, ClockState.RUNNING.value, ClockState.PAUSED.value]
        )


_PG_BATCH_UPDATE = (
    "UPDATE sla_clock AS c SET consumed_us = v.consumed_us, running_since = v.running_since, due_at = v.due_at, "
    "warn_at = v.warn_at, next_fire_at = v.next_fire_at, paused_at = v.paused_at, state = v.state, fence = c.fence + 1 "
    "FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[], "
    "%s::timestamptz[], %s::varchar[], %s::bigint[]) "
    "AS v(consumed_us, running_since, due_at, warn_at, next_fire_at, paused_at, state, id) "
    "WHERE c.id = v.id"
)


def _write_batch(sql: str, params: list[tuple[Any, ...]]) -> None:
    """One statement per batch on PostgreSQL, its columns as arrays (executemany there costs a
    round trip per row, and a VALUES list a long parse); one prepared statement run per row on
    SQLite, which is cheap in-process."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_BATCH_UPDATE, [list(column) for column in zip(*params, strict=True)])
        else:
            cursor.executemany(sql, params)


@transaction.atomic
def calendar_import_ics(*, calendar: Calendar, content: bytes, actor: User | None, now: datetime | None = None) -> CalendarUpdate:
    """Add the all-day events of an ICS file (public holidays, company days off) as holidays."""
    from escalada.sla.ics import ics_holidays  # icalendar is only loaded for an import

    try:
        dates = ics_holidays(content, now=_now(now))
    except ValueError as exc:
        raise ValidationFailed.one("file", str(exc)) from None
    merged = sorted({*calendar.holidays, *(d.isoformat() for d in dates)})
    return calendar_update(calendar=calendar, data={"holidays": merged}, actor=actor, now=now)


@transaction.atomic
def calendar_delete(*, calendar: Calendar, actor: User | None, now: datetime | None = None) -> None:
    if Policy.objects.filter(calendar=calendar).exists():
        raise Conflict("A policy uses this calendar; give the policy another calendar first.")
    if Clock.objects.filter(calendar=calendar).exclude(state=ClockState.FULFILLED).exists():
        raise Conflict("Clocks still run on this calendar; it can be deleted once they are fulfilled.")
    if TeamCalendar.objects.filter(calendar=calendar).exists() or OrganizationCalendar.objects.filter(calendar=calendar).exists():
        raise Conflict("A team or an organization keeps its hours in this calendar; unlink it first.")
    at = _now(now)
    event_record(
        subject_type="sla_calendar",
        subject_id=calendar.pk,
        kind="calendar.deleted",
        actor=actor,
        occurred_at=at,
        before=_calendar_snapshot(calendar),
    )
    Clock.objects.filter(calendar=calendar).update(calendar=None)
    calendar.delete()


@transaction.atomic
def hours_link(
    *,
    calendar: Calendar | None,
    team: Team | None = None,
    organization: Organization | None = None,
    actor: User | None,
    now: datetime | None = None,
) -> None:
    """Give a team or an organization its own business hours (None: back to the policy's).
    Policies that count in the customer's or the team's hours use them for clocks started or
    re-matched from now on."""
    if (team is None) == (organization is None):
        raise ValueError("Link the hours of one team or one organization.")
    if team is not None:
        subject_type, subject_id = "team", team.pk
        team_link = TeamCalendar.objects.select_for_update().filter(team=team).first()
        before = team_link.calendar_id if team_link else None
        TeamCalendar.objects.filter(team=team).delete()
        if calendar is not None:
            TeamCalendar.objects.create(team=team, calendar=calendar)
    else:
        assert organization is not None
        subject_type, subject_id = "organization", organization.pk
        org_link = OrganizationCalendar.objects.select_for_update().filter(organization=organization).first()
        before = org_link.calendar_id if org_link else None
        OrganizationCalendar.objects.filter(organization=organization).delete()
        if calendar is not None:
            OrganizationCalendar.objects.create(organization=organization, calendar=calendar)
    after = calendar.pk if calendar else None
    if before != after:
        event_record(
            subject_type=subject_type,
            subject_id=subject_id,
            kind="sla.hours_linked",
            actor=actor,
            occurred_at=_now(now),
            before={"calendar_id": before},
            after={"calendar_id": after},
        )


# --- policies ----------------------------------------------------------------------------------


class TargetData(TypedDict, total=False):
    priority: str
    metric: str
    minutes: int
    warn_percent: int | None
    warn_minutes_before: int | None


class PolicyData(TypedDict, total=False):
    name: str
    rank: int
    is_active: bool
    conditions: list[dict[str, Any]]
    calendar: Calendar | None
    hours_source: str
    is_business_time: bool
    pause_statuses: dict[str, list[str]]
    targets: list[TargetData]


def _check_conditions(raw: Any) -> dict[str, str]:
    if not isinstance(raw, list):
        return {"conditions": "Give conditions as a list of {field, operator, value}."}
    errors: dict[str, str] = {}
    for index, item in enumerate(raw):
        key = f"conditions[{index}]"
        if not isinstance(item, dict) or set(item) != {"field", "operator", "value"}:
            errors[key] = "A condition has exactly a field, an operator and a value."
            continue
        if item["operator"] not in Operator.__members__.values():
            errors[key] = f"{item['operator']!r} is not an operator; use one of {', '.join(op.value for op in Operator)}."
            continue
        problem = condition_problem(Condition(field=str(item["field"]), operator=Operator(item["operator"]), value=item["value"]))
        if problem:
            errors[key] = problem
    return errors


def _check_targets(raw: Any) -> dict[str, str]:
    if not isinstance(raw, list):
        return {"targets": "Give targets as a list of {priority, metric, minutes}."}
    errors: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(raw):
        key = f"targets[{index}]"
        priority, metric, minutes = item.get("priority"), item.get("metric"), item.get("minutes")
        percent, lead = item.get("warn_percent"), item.get("warn_minutes_before")
        if priority not in Priority.values:
            errors[f"{key}.priority"] = f"Priority is one of {', '.join(Priority.values)}."
        elif metric not in Metric.values:
            errors[f"{key}.metric"] = f"Metric is one of {', '.join(Metric.values)}."
        elif (priority, metric) in seen:
            errors[key] = f"{metric} for {priority} is set twice."
        seen.add((str(priority), str(metric)))
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_TARGET_MINUTES:
            errors[f"{key}.minutes"] = f"A target is 1 to {MAX_TARGET_MINUTES} minutes (ten years)."
            continue
        if percent is not None and lead is not None:
            errors[key] = "Warn either at a percent of the target or some minutes before it, not both."
        elif percent is not None and (not isinstance(percent, int) or not 1 <= percent <= 99):
            errors[f"{key}.warn_percent"] = "A warning percent lies between 1 and 99."
        elif lead is not None and (not isinstance(lead, int) or not 1 <= lead < minutes):
            errors[f"{key}.warn_minutes_before"] = f"Warn between 1 and {minutes - 1} minutes before the target."
    return errors


def _check_pause_statuses(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {"pause_statuses": 'Give pause statuses per metric, e.g. {"resolution": ["pending"]}.'}
    for metric, statuses in raw.items():
        if metric not in Metric.values:
            return {"pause_statuses": f"{metric!r} is not a metric; use {', '.join(Metric.values)}."}
        if not isinstance(statuses, list) or any(s not in PAUSABLE for s in statuses):
            return {f"pause_statuses.{metric}": f"{metric} may pause in {', '.join(PAUSABLE)}; solved fulfils it."}
    return {}


def _check_policy(data: PolicyData, *, instance: Policy | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if "name" in data or instance is None:
        name = " ".join(data.get("name", "").split())
        if not 1 <= len(name) <= 100:
            errors["name"] = "Give the policy a name of 1 to 100 characters."
        elif Policy.objects.filter(name__iexact=name).exclude(pk=instance.pk if instance else 0).exists():
            errors["name"] = f"A policy named {name!r} exists already."
    rank = data.get("rank", instance.rank if instance else None)
    if not isinstance(rank, int) or isinstance(rank, bool) or not 0 <= rank <= 1_000_000:
        errors["rank"] = "Rank is a whole number from 0 (checked first) to 1000000."
    if "conditions" in data:
        errors.update(_check_conditions(data["conditions"]))
    if "targets" in data:
        errors.update(_check_targets(data["targets"]))
    if "pause_statuses" in data:
        errors.update(_check_pause_statuses(data["pause_statuses"]))
    source = data.get("hours_source", instance.hours_source if instance else HoursSource.POLICY)
    if source not in HoursSource.values:
        errors["hours_source"] = f"Hours come from one of {', '.join(HoursSource.values)}."
    is_business = data.get("is_business_time", instance.is_business_time if instance else True)
    calendar = data.get("calendar", instance.calendar if instance else None)
    if is_business and calendar is None:
        errors["calendar"] = "A policy counting business time needs a calendar (also the fallback for customer or team hours)."
    elif calendar is not None and not any(calendar.weekly.get(day) for day in WEEKDAYS):
        errors["calendar"] = f"The calendar {calendar.name!r} is never open; give it opening hours first."
    return errors


def _policy_snapshot(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "rank": policy.rank,
        "is_active": policy.is_active,
        "conditions": policy.conditions,
        "calendar_id": policy.calendar_id,
        "hours_source": policy.hours_source,
        "is_business_time": policy.is_business_time,
        "pause_statuses": policy.pause_statuses,
        "targets": [
            {
                "priority": t.priority,
                "metric": t.metric,
                "minutes": t.minutes,
                "warn_percent": t.warn_percent,
                "warn_minutes_before": t.warn_minutes_before,
            }
            for t in Target.objects.filter(policy=policy).order_by("priority", "metric")
        ],
    }


def _apply_policy(policy: Policy, data: PolicyData) -> None:
    if "name" in data:
        policy.name = " ".join(data["name"].split())
    for key in ("rank", "is_active", "conditions", "hours_source", "is_business_time"):
        if key in data:
            setattr(policy, key, data[key])
    if "calendar" in data:
        policy.calendar = data["calendar"]
    if "pause_statuses" in data:
        policy.pause_statuses = {**DEFAULT_PAUSE_STATUSES, **data["pause_statuses"]}


def _set_targets(policy: Policy, targets: list[TargetData]) -> None:
    Target.objects.filter(policy=policy).delete()
    Target.objects.bulk_create(
        Target(
            policy=policy,
            priority=t["priority"],
            metric=t["metric"],
            minutes=t["minutes"],
            warn_percent=t.get("warn_percent"),
            warn_minutes_before=t.get("warn_minutes_before"),
        )
        for t in targets
    )


@transaction.atomic
def policy_create(*, data: PolicyData, actor: User | None, now: datetime | None = None) -> Policy:
    errors = _check_policy(data, instance=None)
    if errors:
        raise ValidationFailed(errors)
    at = _now(now)
    policy = Policy(created_at=at, updated_at=at, pause_statuses=dict(DEFAULT_PAUSE_STATUSES))
    _apply_policy(policy, data)
    with duplicates_refused(
        lambda: _check_policy(data, instance=None), field="name", message="A policy with this name exists already."
    ):
        policy.save()
    _set_targets(policy, data.get("targets", []))
    event_record(
        subject_type="sla_policy",
        subject_id=policy.pk,
        kind="policy.created",
        is_new_subject=True,
        actor=actor,
        occurred_at=at,
        after=_policy_snapshot(policy),
    )
    return policy


@transaction.atomic
def policy_update(*, policy: Policy, data: PolicyData, actor: User | None, now: datetime | None = None) -> Policy:
    """Change a policy. Tickets already on it keep their clocks' targets until something they
    match on changes (or the ticket's SLA is re-applied): a policy edit never moves running
    clocks behind the agents' backs."""
    errors = _check_policy(data, instance=policy)
    if errors:
        raise ValidationFailed(errors)
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    before = _policy_snapshot(policy)
    _apply_policy(policy, data)
    if "targets" in data:
        _set_targets(policy, data["targets"])
    policy.updated_at = _now(now)
    with duplicates_refused(
        lambda: _check_policy(data, instance=policy), field="name", message="A policy with this name exists already."
    ):
        policy.save()
    after = _policy_snapshot(policy)
    changed = [key for key in after if before[key] != after[key]]
    if changed:
        event_record(
            subject_type="sla_policy",
            subject_id=policy.pk,
            kind="policy.updated",
            actor=actor,
            occurred_at=policy.updated_at,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
        )
    return policy


@transaction.atomic
def policy_delete(*, policy: Policy, actor: User | None, now: datetime | None = None) -> None:
    """Remove a policy. Running clocks keep the targets they were given; new tickets match others.
    Its tickets lose their policy (a report dimension): they are marked for the rollups."""
    Change.objects.bulk_create(
        (
            Change(subject_type="ticket", subject_id=pk)
            for pk in TicketPolicy.objects.filter(policy=policy).values_list("ticket_id", flat=True)
        ),
        batch_size=1000,
    )
    event_record(
        subject_type="sla_policy",
        subject_id=policy.pk,
        kind="policy.deleted",
        actor=actor,
        occurred_at=_now(now),
        before=_policy_snapshot(policy),
    )
    policy.delete()
