"""`literal_in` writes the values into the SQL, so SQLite can match a partial index."""

from __future__ import annotations

import pytest

from escalada.tickets.models import Ticket
from tests.app.conftest import World

pytestmark = pytest.mark.django_db


def test_literal_in_filters_like_in_and_writes_the_values(world: World) -> None:
    query = Ticket.objects.filter(status__literal_in=["new", "it's"])
    assert "IN ('new', 'it''s')" in str(query.query)
    assert sorted(query.values_list("pk", flat=True)) == sorted(
        Ticket.objects.filter(status__in=["new"]).values_list("pk", flat=True)
    )
    assert list(Ticket.objects.filter(status__literal_in=[])) == []


def test_literal_in_keeps_a_percent_sign(world: World) -> None:
    Ticket.objects.filter(pk=world.ticket_a.pk).update(subject="100%")
    assert list(Ticket.objects.filter(subject__literal_in=["100%"]).values_list("pk", flat=True)) == [world.ticket_a.pk]
