"""Races between concurrent requests, on PostgreSQL where writers really run at once.

SQLite takes its write lock when a transaction begins (IMMEDIATE), so these races cannot
happen there; the suite's PostgreSQL run is where they are checked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client

from escalada.accounts.models import IdempotencyKey
from escalada.accounts.services import api_token_create
from escalada.customers.models import Contact
from escalada.tickets.models import Ticket
from tests.app.factories import AgentFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: these races cannot happen there"),
]

THREADS = 6


def _at_once(call: Callable[[int], Any]) -> list[Any]:
    """Run `call(i)` in THREADS threads released together; return their results in order."""
    start = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = call(i)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _client() -> Client:
    agent = AgentFactory.create(user=UserFactory.create(username="racer"))
    token = api_token_create(user=agent.user, name="race", actor=None).plaintext
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_tickets_from_one_new_sender_at_once_are_all_created() -> None:
    client = _client()
    body = {"subject": "Down", "description": "All down", "requester_email": "new.sender@example.com", "channel": "email"}

    def create(i: int) -> int:
        response = client.post("/api/v1/tickets", {**body, "subject": f"Down {i}"}, content_type="application/json")
        return int(response.status_code)

    assert _at_once(create) == [201] * THREADS
    assert Contact.objects.filter(email="new.sender@example.com").count() == 1
    assert Ticket.objects.filter(requester__email="new.sender@example.com").count() == THREADS


def test_one_idempotency_key_at_once_creates_one_ticket() -> None:
    client = _client()
    body = {"subject": "Once", "description": "Only once", "requester_email": "once@example.com", "channel": "api"}

    def create(i: int) -> tuple[int, bytes]:
        response = client.post("/api/v1/tickets", body, content_type="application/json", headers={"Idempotency-Key": "race-1"})
        return int(response.status_code), bytes(response.content)

    results = _at_once(create)
    assert [status for status, _ in results] == [201] * THREADS
    assert len({content for _, content in results}) == 1  # every caller got the same answer
    assert Ticket.objects.filter(subject="Once").count() == 1
    assert IdempotencyKey.objects.filter(key="race-1").count() == 1


def test_six_workers_at_once_fire_each_warning_and_breach_once() -> None:
    from escalada.audit.models import Event
    from escalada.customers.services import contact_find_or_create
    from escalada.desk.verbs import ticket_open
    from escalada.sla.clocks import sla_fire_due
    from tests.app.sla.scenario import berlin, berlin_calendar, standard_policy

    standard_policy(berlin_calendar())
    requester = contact_find_or_create(email="racer@example.com", actor=None)
    for i in range(10):
        ticket_open(
            subject=f"T{i}",
            description="x",
            requester=requester,
            channel="email",
            actor=None,
            priority="high",
            now=berlin(23, 10),
        )

    fired = _at_once(lambda i: sla_fire_due(now=berlin(24, 12)))
    # 10 tickets × 2 clocks × (warning + breach), whoever fired them.
    assert sum(fired) == 40
    assert Event.objects.filter(kind="sla.warning").count() == 20
    assert Event.objects.filter(kind="sla.breached").count() == 20
    assert sla_fire_due(now=berlin(24, 13)) == 0


def test_six_workers_at_once_fire_each_ladder_level_once() -> None:
    from escalada.audit.models import Event
    from escalada.customers.services import contact_find_or_create
    from escalada.desk.ladder import escalation_fire_due
    from escalada.desk.verbs import ticket_open
    from escalada.escalations.services import ladder_create
    from tests.app.sla.scenario import berlin, berlin_calendar, standard_policy

    standard_policy(berlin_calendar())
    ladder_create(
        data={
            "name": "Race",
            "levels": [
                {
                    "trigger": "unresolved_for",
                    "offset_minutes": 0,
                    "business_time": False,
                    "actions": [{"type": "raise_priority"}],
                },
                {
                    "trigger": "unresolved_for",
                    "offset_minutes": 5,
                    "business_time": False,
                    "actions": [{"type": "add_tags", "tags": ["hot"]}],
                },
            ],
        },
        actor=None,
    )
    requester = contact_find_or_create(email="ladder.racer@example.com", actor=None)
    for i in range(10):
        ticket_open(subject=f"L{i}", description="x", requester=requester, channel="email", actor=None, now=berlin(23, 10))

    fired = _at_once(lambda i: escalation_fire_due(now=berlin(23, 11)))
    assert sum(fired) == 20
    assert Event.objects.filter(kind="escalation.level_fired").count() == 20
    assert set(Ticket.objects.filter(subject__startswith="L").values_list("priority", flat=True)) == {
        "high"
    }  # raised once: normal → high
    assert escalation_fire_due(now=berlin(23, 12)) == 0


def test_six_clicks_on_escalate_at_once_make_one_escalation() -> None:
    from escalada.escalations.models import Escalation, Hop, Reason

    # Transactional tests flush the tables, the seeded reasons with them.
    Reason.objects.get_or_create(slug="technical-expertise-needed", defaults={"name": "Technical expertise needed"})
    client = _client()
    requester = Contact.objects.create(name="Ana", email="ana@example.com")
    ticket = Ticket.objects.create(
        subject="Balance", description="x", channel="email", requester=requester, created_at=_now(), updated_at=_now()
    )
    body = {"reason": "technical-expertise-needed", "handoff_note": "Needs L2.", "from_level": 1}

    def escalate(i: int) -> tuple[int, int]:
        response = client.post(f"/api/v1/tickets/{ticket.pk}/escalations", body, content_type="application/json")
        return int(response.status_code), int(response.json()["id"])

    results = _at_once(escalate)
    assert {status for status, _ in results} == {201}
    assert len({pk for _, pk in results}) == 1
    assert (Escalation.objects.count(), Hop.objects.count(), Escalation.objects.get().level) == (1, 1, 2)


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()
