"""The queue's filter and saved views: narrow the queue, keep the filter by name, take the next
ticket within it."""

from __future__ import annotations

import pytest
from django.test import Client

from escalada.desk import escalate as escalating
from escalada.desk import verbs
from escalada.tickets.models import SavedView, Ticket
from tests.app.conftest import World, database_state

pytestmark = pytest.mark.django_db


def _open(world: World, subject: str, **extra: object) -> Ticket:
    return verbs.ticket_open(
        subject=subject,
        description="x",
        requester=world.ana,
        channel="web",
        team=world.support,
        actor=None,
        **extra,  # type: ignore[arg-type]
    )


def subjects(html: str) -> list[str]:
    return [s for s in ("Checkout down", "Invoice typo", "Login loop", "Balance wrong") if f">{s}</a>" in html]


def test_the_filter_narrows_the_queue_and_a_view_brings_it_back(world: World, web_as: dict[str, Client]) -> None:
    _open(world, "Checkout down", priority="urgent")
    _open(world, "Invoice typo", priority="low")
    mine = _open(world, "Login loop", priority="urgent")
    verbs.ticket_assign(ticket=mine, team=world.support, assignee=world.sam.user, actor=world.sam.user)
    escalated = _open(world, "Balance wrong", priority="urgent")
    escalating.escalate(
        ticket=escalated, actor=world.sam.user, request=escalating.EscalateRequest(reason="lack-of-progress", handoff_note="L2.")
    )
    sam = web_as["sam"]
    assert subjects(sam.get("/queue/?priority=urgent").content.decode()) == ["Checkout down", "Login loop", "Balance wrong"]
    assert subjects(sam.get("/queue/?priority=urgent&assigned=none&escalated=no").content.decode()) == ["Checkout down"]
    assert subjects(sam.get("/queue/?assigned=me").content.decode()) == ["Login loop"]
    assert subjects(sam.get("/queue/?escalated=yes").content.decode()) == ["Balance wrong"]
    saved = sam.post("/queue/views", {"view_name": "  Urgent,  unassigned ", "priority": "urgent", "assigned": "none"})
    assert saved.status_code == 302
    assert saved["Location"] == "/queue/?assigned=none&priority=urgent"
    view = SavedView.objects.get(owner=world.sam.user)
    assert (view.name, view.query) == ("Urgent, unassigned", {"assigned": "none", "priority": "urgent"})
    page = sam.get("/queue/").content.decode()
    assert 'href="/queue/?assigned=none&amp;priority=urgent&amp;"' in page
    # The same name replaces the filter; Fin does not see Sam's views.
    sam.post("/queue/views", {"view_name": "Urgent, unassigned", "priority": "high"})
    assert SavedView.objects.get(owner=world.sam.user).query == {"priority": "high"}
    assert "Urgent, unassigned" not in web_as["fin"].get("/queue/").content.decode()


def test_next_ticket_stays_within_the_view(world: World, web_as: dict[str, Client]) -> None:
    _open(world, "Checkout down", priority="urgent")
    low = _open(world, "Invoice typo", priority="low")
    response = web_as["sam"].post("/queue/next", {"priority": "low"})
    assert response["Location"] == f"/tickets/{low.pk}/"
    low.refresh_from_db()
    assert low.assignee_id == world.sam.user.pk
    nothing = web_as["sam"].post("/queue/next", {"severity": "sev1"})
    assert nothing["Location"] == "/queue/?severity=sev1"


def test_a_bad_filter_or_view_says_why_and_changes_nothing(world: World, web_as: dict[str, Client]) -> None:
    sam = web_as["sam"]
    sam.get("/queue/")
    before = database_state()
    page = sam.get("/queue/?priority=blocker&team=999&assigned=everyone&escalated=²")
    assert page.status_code == 200  # the whole queue, with the errors above it (the live region keeps polling)
    html = page.content.decode()
    assert "priority — Choose one of: urgent, high, normal, low." in html
    assert "team — No such team." in html
    assert "assigned — Choose one of: me, none, others." in html
    assert sam.get("/queue/?team=²").status_code == 200
    wrong_next = sam.post("/queue/next", {"priority": "blocker"}, follow=True)
    assert "Choose one of: urgent, high, normal, low." in wrong_next.content.decode()
    nameless = sam.post("/queue/views", {"view_name": " ", "priority": "urgent"}, follow=True)
    assert "Name the view in 1 to 60 characters." in nameless.content.decode()
    empty = sam.post("/queue/views", {"view_name": "All"}, follow=True)
    assert "Choose a filter first: a view of everything is the queue itself." in empty.content.decode()
    assert sam.post("/queue/views/999/delete", follow=True).status_code == 200
    assert database_state() == before
    assert SavedView.objects.count() == 0
    assert web_as["ana"].post("/queue/views", {"view_name": "Mine", "priority": "urgent"}).status_code == 403


def test_a_view_is_removed_by_its_owner_only(world: World, web_as: dict[str, Client]) -> None:
    web_as["sam"].post("/queue/views", {"view_name": "Urgent", "priority": "urgent"})
    view = SavedView.objects.get()
    assert "There is no such view of yours." in web_as["fin"].post(f"/queue/views/{view.pk}/delete", follow=True).content.decode()
    assert SavedView.objects.count() == 1
    web_as["sam"].post(f"/queue/views/{view.pk}/delete")
    assert SavedView.objects.count() == 0
