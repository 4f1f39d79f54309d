"""Customers sign in by an e-mailed link: once, for 20 minutes, never for staff, the same answer
for unknown addresses."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from escalada.customers.models import Contact
from escalada.notifications.models import OutboxMessage
from tests.app.conftest import World

pytestmark = pytest.mark.django_db


def _link(address: str) -> str:
    message = OutboxMessage.objects.filter(recipient=address, kind="customer.sign_in_link").order_by("-pk").first()
    assert message is not None
    match = re.search(r"https?://[^/]+(/login/link/\S+)", message.body_text)
    assert match is not None
    return match.group(1)


def test_a_customer_signs_in_once_with_the_link(world: World) -> None:
    client = Client()
    asked = client.post("/login/link", {"email": "Ana@Northwind.example"})
    assert (asked.status_code, "a sign-in link is on its way" in asked.content.decode()) == (200, True)
    link = _link("ana@northwind.example")
    signed_in = client.get(link)
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/tickets/")
    assert client.get("/tickets/").status_code == 200
    again = Client().get(link)
    assert (again.status_code, "used already" in again.content.decode()) == (400, True)


def test_a_contact_without_an_account_gets_one_and_links_expire(world: World) -> None:
    carol = Contact.objects.create(name="Carol Diaz", email="carol@northwind.example", organization=world.northwind)
    Client().post("/login/link", {"email": "carol@northwind.example"})
    carol.refresh_from_db()
    assert carol.user is not None
    assert carol.user.has_usable_password() is False
    link = _link("carol@northwind.example")
    with time_machine.travel(timezone.now() + timedelta(minutes=21)):
        late = Client().get(link)
    assert (late.status_code, "expired" in late.content.decode()) == (400, True)


def test_unknown_addresses_and_staff_get_the_same_answer_and_no_mail(world: World) -> None:
    unknown = Client().post("/login/link", {"email": "nobody@example.com"})
    assert "a sign-in link is on its way" in unknown.content.decode()
    Contact.objects.create(name="Sam", email=world.sam.user.email, user=world.sam.user)
    staff = Client().post("/login/link", {"email": world.sam.user.email})
    assert "a sign-in link is on its way" in staff.content.decode()
    assert OutboxMessage.objects.filter(kind="customer.sign_in_link").count() == 0
    forged = Client().get("/login/link/not-a-token")
    assert forged.status_code == 400


def test_asking_too_often_is_refused(world: World) -> None:
    client = Client()
    for _ in range(5):
        assert client.post("/login/link", {"email": "ana@northwind.example"}).status_code == 200
    assert client.post("/login/link", {"email": "ana@northwind.example"}).status_code == 429
