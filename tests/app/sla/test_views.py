"""The SLA pages: settings for admins (read-only for agents), the calendar preview, the policy
tester, and the SLA chips on the ticket pages (staff only)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from escalada.audit.models import Event
from escalada.desk.verbs import ticket_open
from escalada.sla import services
from escalada.sla.clocks import sla_fire_due
from escalada.sla.models import Calendar, Clock, Policy, Target
from escalada.tickets.models import Ticket
from tests.app.conftest import World

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
CONDITIONS = [
    {"field": "organization_tier", "operator": "is", "value": "enterprise"},
    {"field": "priority", "operator": "is", "value": "urgent"},
]
REASON = "matched: organization_tier=enterprise, priority=urgent"


@pytest.fixture
def berlin(world: World) -> Calendar:
    return services.calendar_create(
        data={"name": "Berlin office", "time_zone": "Europe/Berlin", "weekly": WEEKDAYS_9_TO_5}, actor=world.admin, now=T0
    )


@pytest.fixture
def policy(world: World, berlin: Calendar) -> Policy:
    world.northwind.tier = "enterprise"  # the same instance the requester's organization is
    world.northwind.save(update_fields=["tier"])
    return services.policy_create(
        data={
            "name": "Enterprise urgent",
            "rank": 10,
            "conditions": CONDITIONS,
            "calendar": berlin,
            "targets": [
                {"priority": "urgent", "metric": "first_response", "minutes": 60, "warn_percent": 50},
                {"priority": "urgent", "metric": "resolution", "minutes": 480},
            ],
        },
        actor=world.admin,
        now=T0,
    )


def _open(world: World, subject: str = "Ledger down", at: datetime = T0) -> Ticket:
    return ticket_open(
        subject=subject, description="Nothing adds up.", requester=world.ana, channel="email", priority="urgent",
        team=world.support, actor=None, now=at,
    )  # fmt: skip


@pytest.fixture
def at_10_40() -> Iterator[None]:
    with time_machine.travel(T0 + timedelta(minutes=40), tick=False):
        yield


def _calendar_post(**changes: str) -> dict[str, str]:
    week = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "09:00-17:00") | {"sat": "", "sun": ""}
    return {
        "name": "Berlin office", "time_zone": "Europe/Berlin", **week, "holidays": "", "holiday_country": "",
        "holiday_subdivision": "", **changes,
    }  # fmt: skip


def _calendar_state(calendar: Calendar) -> dict[str, Any]:
    return dict(Calendar.objects.filter(pk=calendar.pk).values().get())


# --- settings ------------------------------------------------------------------------------------


def test_settings_page_lists_calendars_and_policies_in_rank_order(
    world: World, web_as: dict[str, Client], berlin: Calendar, policy: Policy
) -> None:
    services.policy_create(
        data={"name": "Everyone else", "rank": 1000, "calendar": berlin, "is_business_time": False, "targets": []},
        actor=world.admin,
    )
    response = web_as["admin"].get("/settings/sla/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<a href="/settings/sla/" aria-current="page">SLA settings</a>' in html
    assert (
        f'<td><a href="/settings/sla/calendars/{berlin.pk}/">Berlin office</a></td>\n'
        "      <td>Europe/Berlin</td>\n"
        "      <td>Mon–Fri 09:00–17:00</td>\n"
        "      <td>0 dates</td>"
    ) in html
    assert (
        "<td>10</td>\n"
        f'      <td><a href="/settings/sla/policies/{policy.pk}/">Enterprise urgent</a></td>\n'
        "      <td>organization_tier=enterprise, priority=urgent</td>\n"
        "      <td>Berlin office</td>\n"
        "      <td>Urgent: first response 1 h · resolution 8 h</td>"
    ) in html
    assert html.index("Enterprise urgent") < html.index("Everyone else")
    assert "<td>every ticket</td>\n      <td>calendar time (around the clock)</td>" in html
    assert ('href="/settings/sla/calendars/new/"' in html, 'href="/settings/sla/policies/new/"' in html) == (True, True)
    assert 'hx-get="/settings/sla/tester"' in html


def test_settings_page_query_count_is_flat(world: World, web_as: dict[str, Client], berlin: Calendar, policy: Policy) -> None:
    with CaptureQueriesContext(connection) as few:
        web_as["sam"].get("/settings/sla/")
    for n in range(3):
        services.calendar_create(data={"name": f"Shift {n}", "time_zone": "UTC", "weekly": WEEKDAYS_9_TO_5}, actor=world.admin)
        services.policy_create(
            data={
                "name": f"Tier {n}",
                "rank": n,
                "calendar": berlin,
                "targets": [{"priority": "low", "metric": "resolution", "minutes": 60}],
            },
            actor=world.admin,
        )
    with CaptureQueriesContext(connection) as many:
        html = web_as["sam"].get("/settings/sla/").content.decode()
    assert html.count("Low: resolution 1 h") == 3
    assert len(few.captured_queries) == len(many.captured_queries)


def test_an_agent_may_look_but_not_change(world: World, web_as: dict[str, Client], berlin: Calendar, policy: Policy) -> None:
    sam = web_as["sam"]
    overview = sam.get("/settings/sla/").content.decode()
    assert "You may look; only admins change calendars and SLA policies." in overview
    assert 'href="/settings/sla/calendars/new/"' not in overview
    calendar_page = sam.get(f"/settings/sla/calendars/{berlin.pk}/").content.decode()
    assert '<input type="text" name="tue" value="09:00-17:00" disabled id="id_tue">' in calendar_page
    assert ("Save calendar" in calendar_page, "Import holidays" in calendar_page, "Compute due time" in calendar_page) == (
        False,
        False,
        True,
    )
    policy_page = sam.get(f"/settings/sla/policies/{policy.pk}/").content.decode()
    assert '<input type="number" name="minutes_urgent_first_response" value="60"' in policy_page
    assert ("disabled" in policy_page, "Save policy" in policy_page) == (True, False)
    calendar_before, events_before, policies_before = _calendar_state(berlin), Event.objects.count(), Policy.objects.count()
    refused = [
        sam.post(f"/settings/sla/calendars/{berlin.pk}/", _calendar_post(tue="10:00-12:00")),
        sam.post("/settings/sla/calendars/new/", _calendar_post(name="Sam's hours")),
        sam.post(f"/settings/sla/policies/{policy.pk}/", {"name": "Mine", "rank": "1", "is_business_time": "calendar"}),
        sam.post("/settings/sla/policies/new/", {"name": "Mine", "rank": "1", "is_business_time": "calendar"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert "Only admins change calendars and SLA policies. Nothing was changed." in refused[0].content.decode()
    assert _calendar_state(berlin) == calendar_before
    assert (Event.objects.count(), Policy.objects.count()) == (events_before, policies_before)
    assert Policy.objects.get(pk=policy.pk).name == "Enterprise urgent"


def test_customers_get_no_settings_and_strangers_log_in(world: World, web_as: dict[str, Client], berlin: Calendar) -> None:
    assert web_as["ana"].get("/settings/sla/").status_code == 403
    assert web_as["ana"].get(f"/settings/sla/calendars/{berlin.pk}/preview?start=2026-11-23T16:00&minutes=1").status_code == 403
    assert 'href="/settings/sla/"' not in web_as["ana"].get("/tickets/").content.decode()
    anonymous = Client().get("/settings/sla/")
    assert (anonymous.status_code, anonymous["Location"]) == (302, "/login/?next=/settings/sla/")


# --- calendars -----------------------------------------------------------------------------------


def test_overlapping_hours_on_tuesday_are_refused_next_to_tuesday(
    world: World, web_as: dict[str, Client], berlin: Calendar
) -> None:
    before, events = _calendar_state(berlin), Event.objects.count()
    response = web_as["admin"].post(f"/settings/sla/calendars/{berlin.pk}/", _calendar_post(tue="09:00-12:00, 11:00-17:00"))
    html = response.content.decode()
    assert response.status_code == 422
    tuesday = html[html.index('id="day-tue"') : html.index('id="day-wed"')]
    assert '<p class="field-error" role="alert" id="id_tue_error">tue: 09:00-12:00 and 11:00-17:00 overlap.</p>' in tuesday
    assert 'value="09:00-12:00, 11:00-17:00"' in tuesday
    assert html.count("field-error") == 1
    assert (_calendar_state(berlin), Event.objects.count()) == (before, events)


def test_calendar_form_errors_land_next_to_their_fields(world: World, web_as: dict[str, Client], berlin: Calendar) -> None:
    response = web_as["admin"].post(
        f"/settings/sla/calendars/{berlin.pk}/",
        _calendar_post(mon="9 to 5", time_zone="Mars/Olympus", holidays="2026-12-24\n\n2026-13-01", holiday_country="XX"),
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "&#x27;9 to 5&#x27; is not an interval like 09:00-17:00; separate intervals with commas." in html
    # The form's own check stops first; fix the hours and the services' checks speak.
    response = web_as["admin"].post(
        f"/settings/sla/calendars/{berlin.pk}/",
        _calendar_post(time_zone="Mars/Olympus", holidays="2026-12-24\n\n2026-13-01", holiday_country="XX"),
    )
    html = response.content.decode()
    assert response.status_code == 422
    for field, message in {
        "time_zone": "&#x27;Mars/Olympus&#x27; is not an IANA time zone such as Europe/Berlin.",
        "holidays": "&#x27;2026-13-01&#x27; is not a date like 2026-12-25.",
        "holiday_country": "&#x27;XX&#x27; is not a country code the holidays library knows (e.g. DE, US, FR).",
    }.items():
        block = html[html.index(f'for="id_{field}"') :]
        assert block.index(message) < block.index("</div>")


def test_a_successful_edit_redirects_and_says_how_many_clocks_moved(
    world: World, web_as: dict[str, Client], berlin: Calendar, policy: Policy
) -> None:
    ticket = _open(world)
    due_before = Clock.objects.get(ticket=ticket, metric="resolution").due_at
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):  # before any warning is due
        response = web_as["admin"].post(
            f"/settings/sla/calendars/{berlin.pk}/", _calendar_post(mon="09:00-12:00", holidays="2026-11-24")
        )
    assert (response.status_code, response["Location"]) == (302, f"/settings/sla/calendars/{berlin.pk}/")
    page = web_as["admin"].get(response["Location"]).content.decode()
    assert "Calendar saved; 2 running clocks recomputed." in page
    berlin.refresh_from_db()
    assert (berlin.weekly["mon"], berlin.holidays, berlin.version) == ([["09:00", "12:00"]], ["2026-11-24"], 2)
    # 8 business hours from Monday 10:00: 2 on Monday, Tuesday a holiday, 6 on Wednesday.
    assert due_before == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert Clock.objects.get(ticket=ticket, metric="resolution").due_at == datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def test_a_new_calendar_is_created(world: World, web_as: dict[str, Client]) -> None:
    response = web_as["admin"].post("/settings/sla/calendars/new/", _calendar_post(name="Night desk", sat="22:00-24:00"))
    calendar = Calendar.objects.get(name="Night desk")
    assert (response.status_code, response["Location"]) == (302, f"/settings/sla/calendars/{calendar.pk}/")
    assert calendar.weekly["sat"] == [["22:00", "24:00"]]
    assert calendar.weekly.keys() == {"mon", "tue", "wed", "thu", "fri", "sat"}


def test_ics_upload_adds_holidays(world: World, web_as: dict[str, Client], berlin: Calendar) -> None:
    ics = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20260101T000000Z\r\n"
        b"DTSTART;VALUE=DATE:20261224\r\nSUMMARY:Christmas Eve\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    response = web_as["admin"].post(
        f"/settings/sla/calendars/{berlin.pk}/",
        {"action": "import", "file": SimpleUploadedFile("days.ics", ics, content_type="text/calendar")},
    )
    assert response.status_code == 302
    assert "Imported 1 new holiday; 0 running clocks recomputed." in web_as["admin"].get(response["Location"]).content.decode()
    berlin.refresh_from_db()
    assert berlin.holidays == ["2026-12-24"]
    bad = web_as["admin"].post(
        f"/settings/sla/calendars/{berlin.pk}/", {"action": "import", "file": SimpleUploadedFile("x.ics", b"hello")}
    )
    assert bad.status_code == 422
    assert "This is not an iCalendar (.ics) file" in bad.content.decode()


# --- preview -------------------------------------------------------------------------------------


def test_preview_gives_the_due_instant_in_the_calendar_zone_and_utc(
    world: World, web_as: dict[str, Client], berlin: Calendar
) -> None:
    url = f"/settings/sla/calendars/{berlin.pk}/preview"
    response = web_as["sam"].get(url, {"start": "2026-11-23T16:00", "minutes": "120"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert '<dd>due <time datetime="2026-11-24T09:00:00Z">Tue 24 Nov 2026, 10:00 CET</time></dd>' in html
    assert "<dt>In UTC</dt><dd>2026-11-24 09:00 UTC</dd>" in html
    closed = web_as["sam"].get(url, {"start": "2026-11-21T12:00", "minutes": "30"}, headers={"HX-Request": "true"})
    assert "<dt>Counting from</dt><dd>Mon 23 Nov 2026, 09:00 CET (the calendar is closed at the start)</dd>" in (
        closed.content.decode()
    )


@pytest.mark.parametrize(
    ("start", "minutes", "message"),
    [
        ("yesterday", "10", "Start: &#x27;yesterday&#x27; is not a date and time like 2026-11-23T16:00."),
        ("2026-03-29T02:30", "10", "Start: 2026-03-29 02:30 does not exist in Europe/Berlin: the clocks skip it."),
        ("2026-11-23T16:00", "-5", "Target (minutes): Ensure this value is greater than or equal to 0."),
        ("2026-11-23T16:00", "", "Target (minutes): This field is required."),
    ],
)
def test_preview_errors_are_shown_never_a_500(
    world: World, web_as: dict[str, Client], berlin: Calendar, start: str, minutes: str, message: str
) -> None:
    url = f"/settings/sla/calendars/{berlin.pk}/preview"
    htmx = web_as["sam"].get(url, {"start": start, "minutes": minutes}, headers={"HX-Request": "true"})
    assert (htmx.status_code, message in htmx.content.decode()) == (200, True)
    assert web_as["sam"].get(url, {"start": start, "minutes": minutes}).status_code == 422


# --- policies ------------------------------------------------------------------------------------


def _policy_post(**changes: str) -> dict[str, Any]:
    return {
        "name": "Premium", "rank": "20", "is_active": "on", "is_business_time": "business", "hours_source": "policy",
        "conditions": '[{"field": "organization_tier", "operator": "is", "value": "premium"}]',
        "pause_resolution": ["pending", "on_hold"], "pause_next_response": ["pending"],
        "minutes_urgent_first_response": "30", "warn_urgent_first_response": "80%",
        "minutes_high_resolution": "600", "warn_high_resolution": "60 min",
        **changes,
    }  # fmt: skip


def test_a_policy_is_created_from_the_grid(world: World, web_as: dict[str, Client], berlin: Calendar) -> None:
    response = web_as["admin"].post("/settings/sla/policies/new/", _policy_post(calendar=str(berlin.pk)))
    assert (response.status_code, response["Location"]) == (302, "/settings/sla/")
    created = Policy.objects.get(name="Premium")
    assert (created.rank, created.is_active, created.is_business_time, created.calendar_id) == (20, True, True, berlin.pk)
    assert created.conditions == [{"field": "organization_tier", "operator": "is", "value": "premium"}]
    assert created.pause_statuses == {
        "first_response": [], "next_response": ["pending"], "resolution": ["pending", "on_hold"],
    }  # fmt: skip
    targets = list(
        Target.objects.filter(policy=created).values_list("priority", "metric", "minutes", "warn_percent", "warn_minutes_before")
    )
    assert sorted(targets) == [("high", "resolution", 600, None, 60), ("urgent", "first_response", 30, 80, None)]
    page = web_as["admin"].get(f"/settings/sla/policies/{created.pk}/").content.decode()
    assert 'name="warn_high_resolution" value="60 min"' in page
    assert 'name="warn_urgent_first_response" value="80%"' in page


def test_policy_errors_land_next_to_their_inputs(world: World, web_as: dict[str, Client], berlin: Calendar) -> None:
    post = web_as["admin"].post
    bad_json = post("/settings/sla/policies/new/", _policy_post(calendar=str(berlin.pk), conditions='[{"field": "priority",]'))
    assert bad_json.status_code == 422
    assert (
        "This is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 23)."
        in bad_json.content.decode()
    )
    bad_condition = post(
        "/settings/sla/policies/new/",
        _policy_post(calendar=str(berlin.pk), conditions='[{"field": "priority", "operator": "is", "value": "asap"}]'),
    )
    html = bad_condition.content.decode()
    assert bad_condition.status_code == 422
    block = html[html.index('for="id_conditions"') :]
    assert block.index("Condition 1: priority is one of urgent, high, normal, low, not &#x27;asap&#x27;.") < block.index("</div>")
    bad_cell = post(
        "/settings/sla/policies/new/",
        _policy_post(calendar=str(berlin.pk), minutes_high_resolution="600", warn_high_resolution="700 min"),
    ).content.decode()
    cell = bad_cell[bad_cell.index('name="minutes_high_resolution"') :]
    assert cell.index("Warn between 1 and 599 minutes before the target.") < cell.index("</td>")
    warn_only = post(
        "/settings/sla/policies/new/", _policy_post(calendar=str(berlin.pk), warn_low_resolution="50%")
    ).content.decode()
    assert "A warning needs a target: give the minutes too." in warn_only
    assert Policy.objects.count() == 0


def test_a_policy_on_a_calendar_that_is_never_open_is_refused(world: World, web_as: dict[str, Client]) -> None:
    # Services refuse to save such a calendar; an old row or a direct write can still hold one.
    never = Calendar.objects.create(name="Never", time_zone="UTC", weekly={}, created_at=T0, updated_at=T0)
    response = web_as["admin"].post("/settings/sla/policies/new/", _policy_post(calendar=str(never.pk)))
    html = response.content.decode()
    assert response.status_code == 422
    block = html[html.index('for="id_calendar"') :]
    assert block.index("The calendar &#x27;Never&#x27; is never open; give it opening hours first.") < block.index("</div>")
    assert Policy.objects.count() == 0


# --- tester --------------------------------------------------------------------------------------


def test_tester_names_the_matching_policy_and_why(world: World, web_as: dict[str, Client], policy: Policy) -> None:
    ticket = _open(world)
    response = web_as["sam"].get("/settings/sla/tester", {"ticket": f"#{ticket.number}"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert f"would be on <strong>Enterprise urgent</strong> — {REASON}." in html
    assert "It is on Enterprise urgent now." in html
    other = web_as["sam"].get("/settings/sla/tester", {"ticket": str(world.ticket_b.number)}, headers={"HX-Request": "true"})
    assert "matches no active SLA policy." in other.content.decode()
    missing = web_as["sam"].get("/settings/sla/tester", {"ticket": "999999"}, headers={"HX-Request": "true"})
    assert (missing.status_code, "There is no ticket #999999." in missing.content.decode()) == (200, True)
    nonsense = web_as["sam"].get("/settings/sla/tester", {"ticket": "abc"})
    assert (nonsense.status_code, "Give a ticket number such as 123." in nonsense.content.decode()) == (422, True)


# --- chips ---------------------------------------------------------------------------------------


def test_ticket_page_shows_chips_and_policy_to_staff_only(
    world: World, web_as: dict[str, Client], policy: Policy, at_10_40: None
) -> None:
    ticket = _open(world)
    assert sla_fire_due(now=T0 + timedelta(minutes=40)) == 1  # the first response's warning at 10:30
    html = web_as["sam"].get(f"/tickets/{ticket.pk}/").content.decode()
    assert (
        '<span class="sla-chip sla-amber" title="First response due Mon 23 Nov 2026, 11:00 CET (business time); '
        '20 min of business time left when this page loaded"><b>First response</b> due in 20 min of business time · '
        '11:00 (<span data-due="2026-11-23T10:00:00Z">in 20 min</span>)</span>'
    ) in html
    assert (
        '<span class="sla-chip sla-green" title="Resolution due Tue 24 Nov 2026, 10:00 CET (business time); '
        '7 h 20 min of business time left when this page loaded"><b>Resolution</b> due in 7 h 20 min of business time · '
        'Tue 10:00 (<span data-due="2026-11-24T09:00:00Z">in 23 h 20 min</span>)</span>'
    ) in html
    assert f'<p class="sla-policy"><strong>Enterprise urgent</strong> — {REASON}</p>' in html
    assert 'src="/static/sla/countdown.js"' in html
    customer = web_as["ana"].get(f"/tickets/{ticket.pk}/").content.decode()
    assert ("sla-chip" in customer, "Enterprise urgent" in customer, 'id="sla"' in customer) == (False, False, False)
    assert "countdown.js" not in customer
    unmatched = web_as["sam"].get(f"/tickets/{world.ticket_b.pk}/").content.decode()
    assert '<p class="muted sla-policy">No SLA policy matches this ticket.</p>' in unmatched
    assert "sla-chip" not in unmatched


def test_chips_turn_red_grey_and_done(world: World, web_as: dict[str, Client], policy: Policy) -> None:
    ticket = _open(world)
    sla_fire_due(now=T0 + timedelta(hours=1))  # first response breached at 11:00 Berlin
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        html = web_as["sam"].get(f"/tickets/{ticket.pk}/").content.decode()
        assert (
            '<span class="sla-chip sla-red" title="First response was due Mon 23 Nov 2026, 11:00 CET (business time)">'
            '<b>First response</b> breached <span data-due="2026-11-23T10:00:00Z">1 h ago</span></span>'
        ) in html
        web_as["sam"].post(f"/tickets/{ticket.pk}/status", {"status": "pending"})
        html = web_as["sam"].get(f"/tickets/{ticket.pk}/").content.decode()
        assert (
            '<span class="sla-chip sla-grey" title="Paused since Mon 23 Nov 2026, 12:00 CET while the ticket is pending '
            '(business time)"><b>Resolution</b> paused · 6 h of business time left</span>'
        ) in html
        web_as["sam"].post(f"/tickets/{ticket.pk}/status", {"status": "solved"})
        html = web_as["sam"].get(f"/tickets/{ticket.pk}/").content.decode()
        assert (
            '<span class="sla-chip sla-done" title="Resolution met Mon 23 Nov 2026, 12:00 CET, in time (business time)">'
            "<b>Resolution</b> met</span>"
        ) in html
        assert '<span class="sla-chip sla-red" title="First response met Mon 23 Nov 2026, 12:00 CET; breached' in html


def test_ticket_list_shows_chips_with_a_flat_query_count(
    world: World, web_as: dict[str, Client], policy: Policy, at_10_40: None
) -> None:
    _open(world, "First")  # its warning is due but not fired yet: the chip is amber all the same
    with CaptureQueriesContext(connection) as few:
        html = web_as["sam"].get("/tickets/").content.decode()
    assert "<th>SLA</th>" in html
    assert html.count('class="sla-chip sla-amber"') == 1
    assert html.count('class="sla-chip sla-green"') == 1
    for n in range(6):
        _open(world, f"More {n}", at=T0 + timedelta(minutes=n))
    with CaptureQueriesContext(connection) as many:
        html = web_as["sam"].get("/tickets/").content.decode()
    assert html.count('class="sla-chip sla-') == 14
    assert len(few.captured_queries) == len(many.captured_queries)
    customer = web_as["ana"].get("/tickets/").content.decode()
    assert ("sla-chip" in customer, "<th>SLA</th>" in customer) == (False, False)


def test_an_htmx_reply_refreshes_the_chips_out_of_band(
    world: World, web_as: dict[str, Client], policy: Policy, at_10_40: None
) -> None:
    ticket = _open(world)
    response = web_as["sam"].post(
        f"/tickets/{ticket.pk}/reply",
        {"body": "Looking into it.", "visibility": "public", "status": ""},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert '<div class="panel" id="sla" hx-swap-oob="true">' in html
    assert (
        '<span class="sla-chip sla-done" title="First response met Mon 23 Nov 2026, 10:40 CET, in time (business time)">'
        "<b>First response</b> met</span>"
    ) in html
