"""Typed factory_boy factories for the app tests."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from escalada.accounts.models import AgentProfile, Team
from escalada.customers.models import Contact, Organization, OrganizationDomain, Tier
from escalada.tickets.models import Category, Channel, Message, Priority, Severity, Status, Ticket, Visibility

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email: Any = factory.LazyAttribute(lambda u: f"{u.username}@escalada.test")
    password: Any = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if create:
            obj.save()


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug: Any = factory.LazyAttribute(lambda t: t.name.lower().replace(" ", "-"))
    tier_count = 3


class AgentFactory(factory.django.DjangoModelFactory[AgentProfile]):
    class Meta:
        model = AgentProfile
        skip_postgeneration_save = True

    user: Any = factory.SubFactory(UserFactory)
    tier = 1
    time_zone = "Europe/Berlin"

    @factory.post_generation
    def teams(obj: AgentProfile, create: bool, extracted: list[Team] | None, **kwargs: Any) -> None:  # noqa: N805
        if create and extracted:
            obj.teams.set(extracted)


class OrganizationFactory(factory.django.DjangoModelFactory[Organization]):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    tier = Tier.STANDARD
    time_zone = "Europe/Berlin"


class DomainFactory(factory.django.DjangoModelFactory[OrganizationDomain]):
    class Meta:
        model = OrganizationDomain

    organization: Any = factory.SubFactory(OrganizationFactory)
    domain = factory.Sequence(lambda n: f"org{n}.test")


class ContactFactory(factory.django.DjangoModelFactory[Contact]):
    class Meta:
        model = Contact

    name = factory.Sequence(lambda n: f"Contact {n}")
    email: Any = factory.Sequence(lambda n: f"contact{n}@customer.test")
    organization: Any = factory.SubFactory(OrganizationFactory)


class CategoryFactory(factory.django.DjangoModelFactory[Category]):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = "Billing"
    slug = "billing"


class TicketFactory(factory.django.DjangoModelFactory[Ticket]):
    """A bare ticket row (no event, no first message): for selector and access tests only."""

    class Meta:
        model = Ticket

    number = factory.Sequence(lambda n: 10_000 + n)
    subject = factory.Sequence(lambda n: f"Ticket {n}")
    description = "Something is wrong."
    channel = Channel.EMAIL
    requester: Any = factory.SubFactory(ContactFactory)
    organization: Any = factory.LazyAttribute(lambda t: t.requester.organization)
    priority = Priority.NORMAL
    severity = Severity.SEV3
    status = Status.NEW
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)


class MessageFactory(factory.django.DjangoModelFactory[Message]):
    class Meta:
        model = Message

    ticket: Any = factory.SubFactory(TicketFactory)
    author_contact: Any = factory.LazyAttribute(lambda m: m.ticket.requester)
    visibility = Visibility.PUBLIC
    body_html = "<p>Hello</p>"
    body_text = "Hello"
    channel = Channel.EMAIL
    created_at = factory.LazyFunction(timezone.now)
