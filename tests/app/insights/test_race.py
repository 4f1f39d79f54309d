"""Rollup consumers racing on PostgreSQL: every mark is taken once, a ticket refreshed by two
workers at once is counted once, and the sums equal the raw rows."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.db.models import Sum

from escalada.audit.models import Change
from escalada.customers.models import Contact
from escalada.insights.models import TicketFact, TicketRollup
from escalada.insights.services import rollup_catch_up, tickets_refresh
from escalada.tickets.models import Ticket
from escalada.tickets.services import ticket_create

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: these races cannot happen there"),
]

THREADS = 4


def _at_once(call: Any) -> None:
    start = threading.Barrier(THREADS)

    def run() -> None:
        try:
            start.wait()
            call()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def test_four_consumers_over_the_same_marks_count_each_ticket_once() -> None:
    ana = Contact.objects.create(name="Ana", email="ana@northwind.example")
    tickets = [ticket_create(subject=f"T{i}", description="Body", requester=ana, channel="email", actor=None) for i in range(300)]
    # Every ticket marked four more times, so consumers meet the same tickets in different batches.
    Change.objects.bulk_create(Change(subject_type="ticket", subject_id=t.pk) for t in tickets for _ in range(4))

    def drain() -> None:
        while rollup_catch_up(limit=97):
            pass

    _at_once(drain)
    assert Change.objects.count() == 0
    assert TicketRollup.objects.filter(grain="d").aggregate(n=Sum("tickets"))["n"] == Ticket.objects.count() == 300
    assert TicketFact.objects.count() == 300


def test_workers_refreshing_the_same_tickets_at_once_add_each_once() -> None:
    ana = Contact.objects.create(name="Ana", email="ana@northwind.example")
    ids = [ticket_create(subject=f"T{i}", description="Body", requester=ana, channel="email", actor=None).pk for i in range(200)]
    Change.objects.all().delete()
    with transaction.atomic():
        tickets_refresh(ids)
    Ticket.objects.update(priority="high")  # every ticket moves to other rollup rows

    def refresh() -> None:
        # A transaction long enough that the four overlap: without the fact rows' lock each
        # would read the same old contribution and move every ticket again.
        with transaction.atomic():
            tickets_refresh(ids)

    _at_once(refresh)
    assert dict(
        TicketRollup.objects.filter(grain="d").values("priority").annotate(n=Sum("tickets")).values_list("priority", "n")
    ) == {
        "normal": 0,
        "high": 200,
    }
