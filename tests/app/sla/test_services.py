"""Calendars and policies as data: validation, holidays from every source, recompute on edit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from escalada.audit.models import Event
from escalada.base.errors import Conflict, ValidationFailed
from escalada.core.calendar import BusinessCalendar
from escalada.desk import verbs
from escalada.sla import adapters, services
from escalada.sla.models import Calendar
from tests.app.conftest import World, database_state
from tests.app.sla.scenario import WEEKDAYS_9_TO_5, berlin, berlin_calendar, clock, open_ticket, standard_policy

pytestmark = pytest.mark.django_db


def errors_of(call: object) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        call()  # type: ignore[operator]
    return caught.value.errors


def test_calendar_validation_names_each_field(world: World) -> None:
    before = database_state()
    errors = errors_of(
        lambda: services.calendar_create(
            data={
                "name": "",
                "time_zone": "Mars/Olympus",
                "weekly": {
                    "mon": [["09:00", "17:00"]],
                    "tue": [["09:00", "13:00"], ["12:00", "17:00"]],
                    "wed": [["18:00", "08:00"]],
                    "fun": [],
                },
                "holidays": ["2026-12-25", "25.12.2026"],
                "holiday_country": "XX",
            },
            actor=None,
        )
    )
    assert errors == {
        "name": "Give the calendar a name of 1 to 100 characters.",
        "time_zone": "'Mars/Olympus' is not an IANA time zone such as Europe/Berlin.",
        "weekly.tue": "tue: 09:00-13:00 and 12:00-17:00 overlap.",
        "weekly.wed": "wed: an interval must close after it opens (18:00-08:00).",
        "weekly.fun": "'fun' is not a weekday; use mon, tue, wed, thu, fri, sat, sun.",
        "holidays[1]": "'25.12.2026' is not a date like 2026-12-25.",
        "holiday_country": "'XX' is not a country code the holidays library knows (e.g. DE, US, FR).",
    }
    assert errors_of(lambda: services.calendar_create(data={"name": "Never", "time_zone": "UTC", "weekly": {}}, actor=None)) == {
        "weekly": "This calendar is never open: give it opening hours on at least one weekday."
    }
    assert database_state() == before


def test_country_holidays_close_the_calendar(world: World) -> None:
    calendar = berlin_calendar(holiday_country="DE", holiday_subdivision="BY")
    core = adapters.calendar_to_core(calendar, now=berlin(23, 9))
    assert isinstance(core, BusinessCalendar)
    # Friday 2026-12-25 is Christmas: 16 business hours from Thursday 24th 09:00 run out at
    # Monday 28th's closing, so they are due at Tuesday's opening.
    assert core.add(berlin(24, 9, month=12), timedelta(hours=16)) == berlin(29, 9, month=12)
    assert not core.is_open(berlin(25, 10, month=12))
    assert core.is_open(berlin(24, 10, month=12))
    assert date(2026, 1, 6) in core.holidays  # Epiphany: Bavaria, not all of Germany
    assert errors_of(lambda: berlin_calendar(name="x", holiday_country="DE", holiday_subdivision="ZZ"))[
        "holiday_subdivision"
    ].startswith("'ZZ' is not a subdivision of DE")


ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Escalada tests//EN
BEGIN:VEVENT
UID:founders
DTSTART;VALUE=DATE:20260715
DTEND;VALUE=DATE:20260717
SUMMARY:Founders days
END:VEVENT
BEGIN:VEVENT
UID:xmas
DTSTART;VALUE=DATE:20261224
RRULE:FREQ=YEARLY
SUMMARY:Christmas Eve
END:VEVENT
BEGIN:VEVENT
UID:meeting
DTSTART:20261201T130000Z
DTEND:20261201T170000Z
SUMMARY:All hands (timed: not a holiday)
END:VEVENT
END:VCALENDAR
"""


def test_ics_import_adds_all_day_events_and_expands_yearly_ones(world: World) -> None:
    calendar = berlin_calendar(holidays=["2026-01-01"])
    result = services.calendar_import_ics(calendar=calendar, content=ICS, actor=world.admin, now=berlin(23, 9))
    holidays = result.calendar.holidays
    assert holidays[:4] == ["2026-01-01", "2026-07-15", "2026-07-16", "2026-12-24"]
    assert holidays[-1] == "2037-12-24"  # yearly, up to the ten-year horizon
    assert len(holidays) == 3 + 12
    assert "2026-12-01" not in holidays
    before = database_state()
    assert errors_of(lambda: services.calendar_import_ics(calendar=calendar, content=b"hello", actor=None))["file"].startswith(
        "This is not an iCalendar (.ics) file"
    )
    timed = b"BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:a\nDTSTART:20261201T130000Z\nEND:VEVENT\nEND:VCALENDAR\n"
    assert errors_of(lambda: services.calendar_import_ics(calendar=calendar, content=timed, actor=None)) == {
        "file": "This file holds no all-day events; holidays are whole days."
    }
    assert database_state() == before


def test_editing_a_calendar_moves_running_clocks_and_audits_it(world: World) -> None:
    calendar = berlin_calendar()
    standard_policy(calendar)
    running = open_ticket(world, berlin(23, 10))
    paused = open_ticket(world, berlin(23, 10))
    verbs.ticket_reply(ticket=paused, actor=world.sam.user, body="?", status="pending", now=berlin(23, 10, 30))
    assert clock(running, "resolution").due_at == berlin(24, 10)
    # At Monday 12:00 the office switches to mornings only: 2 h used under the old hours,
    # 6 h left under the new: Monday 12-13, Tuesday 9-13, Wednesday 9-10.
    mornings = {day: [["09:00", "13:00"]] for day in WEEKDAYS_9_TO_5}
    result = services.calendar_update(calendar=calendar, data={"weekly": mornings}, actor=world.admin, now=berlin(23, 12))
    # Moved: both resolution clocks of `running`… and first_response (due 11:00) was due
    # already, so the worker fires it first; `paused` has its resolution paused.
    assert result.clocks_recomputed == 1
    moved = clock(running, "resolution")
    assert (moved.due_at, moved.consumed_us, moved.running_since) == (berlin(25, 10), 2 * 3600 * 10**6, berlin(23, 12))
    assert moved.warn_at == berlin(24, 12)  # 6 h used: 2 + 1 on Monday, then 3 from Tuesday 09:00
    assert clock(paused, "resolution").state == "paused"
    event = Event.objects.get(subject_type="sla_calendar", subject_id=calendar.pk, kind="calendar.updated")
    assert event.after == {"weekly": mornings, "clocks_recomputed": 1}
    assert event.before == {"weekly": WEEKDAYS_9_TO_5}
    assert Calendar.objects.get(pk=calendar.pk).version == 2
    # The same again changes nothing and records nothing.
    again = services.calendar_update(calendar=calendar, data={"weekly": mornings}, actor=None, now=berlin(23, 12, 1))
    assert again.clocks_recomputed == 0
    assert Event.objects.filter(subject_type="sla_calendar", kind="calendar.updated").count() == 1


def test_policy_validation_names_each_field(world: World) -> None:
    never_open = Calendar.objects.create(
        name="Closed",
        time_zone="UTC",
        weekly={},
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    before = database_state()
    errors = errors_of(
        lambda: services.policy_create(
            data={
                "name": "Bad",
                "rank": -1,
                "conditions": [
                    {"field": "priority", "operator": "is", "value": "critical"},
                    {"field": "mood", "operator": "is", "value": "angry"},
                    {"field": "tags", "operator": "like", "value": "x"},
                ],
                "calendar": never_open,
                "pause_statuses": {"resolution": ["solved"]},
                "targets": [
                    {"priority": "high", "metric": "resolution", "minutes": 0},
                    {"priority": "high", "metric": "first_response", "minutes": 60, "warn_percent": 100},
                    {"priority": "high", "metric": "first_response", "minutes": 60},
                    {"priority": "high", "metric": "next_response", "minutes": 30, "warn_minutes_before": 30},
                ],
            },
            actor=None,
        )
    )
    assert errors == {
        "rank": "Rank is a whole number from 0 (checked first) to 1000000.",
        "conditions[0]": "priority is one of urgent, high, normal, low, not 'critical'.",
        "conditions[1]": "Unknown field 'mood'; use one of category, channel, organization, organization_tier, priority, severity, tags, team, vip.",
        "conditions[2]": "'like' is not an operator; use one of is, in, not_in, has_any, has_all.",
        "calendar": "The calendar 'Closed' is never open; give it opening hours first.",
        "pause_statuses.resolution": "resolution may pause in new, open, pending, on_hold; solved fulfils it.",
        "targets[0].minutes": "A target is 1 to 5260320 minutes (ten years).",
        "targets[1].warn_percent": "A warning percent lies between 1 and 99.",
        "targets[2]": "first_response for high is set twice.",
        "targets[3].warn_minutes_before": "Warn between 1 and 29 minutes before the target.",
    }
    assert errors_of(lambda: services.policy_create(data={"name": "No calendar", "rank": 1}, actor=None)) == {
        "calendar": "A policy counting business time needs a calendar (also the fallback for customer or team hours)."
    }
    assert database_state() == before


def test_a_calendar_in_use_is_not_deleted(world: World) -> None:
    calendar = berlin_calendar()
    standard_policy(calendar)
    with pytest.raises(Conflict, match="A policy uses this calendar"):
        services.calendar_delete(calendar=calendar, actor=None)
    assert Calendar.objects.filter(pk=calendar.pk).exists()


def test_a_calendar_edit_reaches_a_clock_whose_warning_is_due_but_not_fired(world: World) -> None:
    calendar = berlin_calendar()
    standard_policy(calendar)
    ticket = open_ticket(world, berlin(23, 9))  # resolution: warning Monday 15:00, due Tuesday 09:00
    mornings = {day: [["09:00", "13:00"]] for day in WEEKDAYS_9_TO_5}
    result = services.calendar_update(calendar=calendar, data={"weekly": mornings}, actor=None, now=berlin(23, 15, 30))
    # first_response (due 10:00) was overdue and stays for the worker; resolution moves:
    # 6.5 h used, 1.5 h left under the new hours from Tuesday 09:00.
    assert result.clocks_recomputed == 1
    resolution = clock(ticket, "resolution")
    assert (resolution.due_at, resolution.warned_at) == (berlin(24, 10, 30), None)
    assert resolution.next_fire_at == berlin(23, 15, 30)  # the warning it is owed: at once
    assert clock(ticket, "first_response").due_at == berlin(23, 10)


def test_ics_edge_cases_are_read_or_refused_in_words(world: World) -> None:
    calendar = berlin_calendar()

    def ics(body: str) -> bytes:
        return f"BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:a\n{body}\nEND:VEVENT\nEND:VCALENDAR\n".encode()

    until_date = ics("DTSTART;VALUE=DATE:20261225\nRRULE:FREQ=YEARLY;UNTIL=20281225")
    result = services.calendar_import_ics(calendar=calendar, content=until_date, actor=None, now=berlin(23, 9))
    assert result.calendar.holidays == ["2026-12-25", "2027-12-25", "2028-12-25"]
    date_duration = ics("DTSTART;VALUE=DATE:20261231\nDURATION;VALUE=DATE:20270101")
    assert "2026-12-31" in services.calendar_import_ics(calendar=calendar, content=date_duration, actor=None).calendar.holidays
    before = database_state()
    assert errors_of(
        lambda: services.calendar_import_ics(
            calendar=calendar, content=ics("DTSTART;VALUE=DATE:20261201\nRRULE:FREQ=MINUTELY"), actor=None
        )
    ) == {"file": "A holiday repeats at most daily; this event repeats minutely."}
    decade = ics("DTSTART;VALUE=DATE:20261101\nDTEND;VALUE=DATE:20370101")
    assert errors_of(lambda: services.calendar_import_ics(calendar=calendar, content=decade, actor=None, now=berlin(23, 9))) == {
        "holidays": "This calendar has no open time within ten years of the start (holidays cover it)."
    }
    assert database_state() == before
