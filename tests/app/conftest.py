"""Named scenario fixtures: the Northwind world of DESIGN.md, small enough to reason about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client

from escalada.accounts.models import AgentProfile, ApiToken, IdempotencyKey, Team
from escalada.accounts.services import api_token_create
from escalada.audit.models import Change, Event, EventStreamHead
from escalada.base.models import RateCounter
from escalada.customers.models import Contact, Organization, OrganizationDomain
from escalada.escalations.models import (
    ActionStep,
    Approval,
    ApprovalRule,
    Contributor,
    DecisionCategory,
    Escalation,
    EscalationRun,
    EscalationStep,
    Hop,
    Ladder,
    MatrixCell,
    Playbook,
    Reason,
    RootCause,
    RootCauseCategory,
)
from escalada.insights.models import EscalationRollup, TicketFact, TicketRollup
from escalada.notifications.models import IntakeSecret, Mailbox, MailTemplate, OutboxMessage, WebhookSubscription
from escalada.sla.models import Calendar, Clock, Policy, Target, TicketPolicy
from escalada.tickets.models import Message, SavedView, Tag, Ticket
from escalada.tickets.services import ticket_create
from tests.app.factories import AgentFactory, ContactFactory, DomainFactory, OrganizationFactory, TeamFactory, UserFactory


@dataclass
class World:
    support: Team
    finance: Team
    sam: AgentProfile  # L1 agent in Support
    fin: AgentProfile  # agent in Finance only
    morgan: AgentProfile  # escalation manager, no team
    admin: User
    northwind: Organization
    contoso: Organization
    ana: Contact  # customer at Northwind, with a portal login
    ana_user: User
    bob: Contact  # customer at Contoso, with a portal login
    bob_user: User
    ticket_a: Ticket  # Northwind, Support
    ticket_b: Ticket  # Contoso, Finance


@pytest.fixture
def world(db: None) -> World:
    support = TeamFactory.create(name="Support", slug="support")
    finance = TeamFactory.create(name="Finance", slug="finance", tier_count=2)
    sam = AgentFactory.create(user=UserFactory.create(username="sam", first_name="Sam", last_name="Carter"), teams=[support])
    fin = AgentFactory.create(user=UserFactory.create(username="fin"), teams=[finance])
    morgan = AgentFactory.create(user=UserFactory.create(username="morgan"), is_escalation_manager=True, tier=3)
    admin = UserFactory.create(username="admin", is_superuser=True, is_staff=True)
    northwind = OrganizationFactory.create(name="Northwind")
    DomainFactory.create(organization=northwind, domain="northwind.example")
    contoso = OrganizationFactory.create(name="Contoso")
    DomainFactory.create(organization=contoso, domain="contoso.example")
    ana_user = UserFactory.create(username="ana")
    ana = ContactFactory.create(name="Ana Lima", email="ana@northwind.example", organization=northwind, user=ana_user)
    bob_user = UserFactory.create(username="bob")
    bob = ContactFactory.create(name="Bob Stone", email="bob@contoso.example", organization=contoso, user=bob_user)
    ticket_a = ticket_create(
        subject="Balance wrong", description="My balance is wrong.", requester=ana, channel="email", team=support, actor=None
    )
    ticket_b = ticket_create(
        subject="Refund missing", description="Where is my refund?", requester=bob, channel="web", team=finance, actor=None
    )
    return World(support, finance, sam, fin, morgan, admin, northwind, contoso, ana, ana_user, bob, bob_user, ticket_a, ticket_b)


def token_client(user: User) -> Client:
    token = api_token_create(user=user, name="tests", actor=user).plaintext
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def api_as(world: World) -> dict[str, Client]:
    """An API client per person of the world, each with its own bearer token."""
    people = {
        "sam": world.sam.user,
        "fin": world.fin.user,
        "morgan": world.morgan.user,
        "admin": world.admin,
        "ana": world.ana_user,
        "bob": world.bob_user,
    }
    return {name: token_client(user) for name, user in people.items()}


@pytest.fixture
def web_as(world: World) -> dict[str, Client]:
    """A logged-in browser-like client (session + CSRF enforced) per person."""
    people = {"sam": world.sam.user, "fin": world.fin.user, "admin": world.admin, "ana": world.ana_user, "bob": world.bob_user}
    clients = {}
    for name, user in people.items():
        client = Client()
        client.force_login(user)
        clients[name] = client
    return clients


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # PBKDF2 at production strength costs ~0.3 s a user; the tests make many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row a refused request could touch, to assert that it touched none.

    Tokens' last-used stamps are left out: authenticating is not a change.
    """
    models: list[type[Model]] = [Ticket, Ticket.tags.through, Message, Event, EventStreamHead, Contact, Organization]
    models += [OrganizationDomain, Tag, Team, AgentProfile, IdempotencyKey, User]
    models += [Calendar, Policy, Target, Clock, TicketPolicy, OutboxMessage, WebhookSubscription, RateCounter, MailTemplate]
    models += [Ladder, EscalationRun, EscalationStep, Escalation, Hop, ActionStep, Contributor, Approval, RootCause]
    models += [MatrixCell, Playbook, ApprovalRule, Reason, DecisionCategory, RootCauseCategory]
    models += [Change, TicketFact, TicketRollup, EscalationRollup, Mailbox, IntakeSecret, SavedView]
    state = {model._meta.label: list(model._default_manager.order_by("pk").values()) for model in models}
    tokens = ApiToken.objects.order_by("pk").values_list("pk", "user_id", "name", "prefix", "revoked_at")
    state["accounts.ApiToken"] = [
        dict(zip(("pk", "user_id", "name", "prefix", "revoked_at"), row, strict=True)) for row in tokens
    ]
    return state
