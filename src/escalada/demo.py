"""Demo data: `escalada demo`, and what `escalada run` loads on first start.

Deterministic (Faker and random with a fixed seed), and written through the same services as
real work, so every demo ticket has its audit trail. Northwind and Ana are the scenario of
DESIGN.md "A ticket's life".
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from faker import Faker

from escalada.accounts.models import AgentProfile, Team
from escalada.accounts.services import agent_create, team_create
from escalada.customers.models import Contact, Organization, Tier
from escalada.customers.services import contact_create, organization_create
from escalada.desk import escalate as escalating
from escalada.desk import verbs as tickets
from escalada.escalations import configuration, records
from escalada.escalations.services import ladder_create
from escalada.sla import services as sla
from escalada.tickets.macros import macro_save
from escalada.tickets.models import Category, Channel, Priority, Severity, Status, Ticket, Visibility

CATEGORIES = [
    ("Billing", "billing"),
    ("Technical", "technical"),
    ("Account", "account"),
    ("Security", "security"),
    ("Shipping", "shipping"),
    ("Feature request", "feature-request"),
]

# (username, full name, team slugs, tier, lead, escalation manager)
AGENTS = [
    ("sam", "Sam Carter", ["support"], 1, False, False),
    ("riley", "Riley Moss", ["support"], 1, False, False),
    ("lee", "Lee Park", ["support"], 2, False, False),
    ("kim", "Kim Novak", ["support", "engineering"], 3, False, False),
    ("pat", "Pat Quinn", ["support"], 2, True, False),
    ("morgan", "Morgan Reyes", ["support", "engineering", "finance"], 3, False, True),
    ("dev", "Devi Rao", ["engineering"], 2, False, False),
    ("fin", "Finn Adler", ["finance"], 2, True, False),
]

MACROS = [
    (
        "We are on it",
        "Hello {{ requester.first_name }},\n\nthank you for writing. We are looking into #{{ ticket.number }} now and "
        "will write again as soon as we know more.\n\n{{ agent.name }}",
        "",
    ),
    (
        "Need more details",
        "Hello {{ requester.first_name }},\n\nto move #{{ ticket.number }} forward we need a little more: what did you "
        "do just before it happened, and when?\n\n{{ agent.name }}",
        "pending",
    ),
    (
        "Solved — let us know",
        "Hello {{ requester.first_name }},\n\nthis should be fixed now. If anything is still not right, just reply and "
        "the ticket opens again.\n\n{{ agent.name }}",
        "solved",
    ),
]
# Finance's own macro: offered on Finance's tickets and to its agents only.
FINANCE_MACRO = (
    "Credit note issued",
    "Hello {{ requester.first_name }},\n\nwe have issued a credit note for the difference on #{{ ticket.number }}; "
    "it shows on your next invoice.\n\n{{ agent.name }}",
    "solved",
)

SUBJECTS = {
    "billing": [
        "My account balance is wrong since the last invoice",
        "Charged twice this month",
        "Invoice shows the wrong VAT",
        "Refund not received",
    ],
    "technical": [
        "Export to CSV times out",
        "API returns 500 on large uploads",
        "Sync stopped overnight",
        "Login loop after password reset",
    ],
    "account": ["Please add a new admin to our account", "Cannot change the account owner", "SSO users are not provisioned"],
    "security": ["Suspicious login from an unknown country", "Please confirm your data-retention policy"],
    "shipping": ["Order arrived damaged", "Tracking number does not work"],
    "feature-request": ["Dark mode for the dashboard", "Bulk edit for contacts"],
}


@dataclass(frozen=True)
class DemoSummary:
    organizations: int
    contacts: int
    agents: int
    tickets: int


def demo_is_loaded() -> bool:
    return Organization.objects.filter(name="Northwind").exists()


@transaction.atomic
def demo_load(*, password: str, tickets_count: int = 300, seed: int = 20261123, now: datetime | None = None) -> DemoSummary:
    """Create the demo world. Every demo user (agents and the customer ana) gets `password`."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    now = now or timezone.now()

    for name, slug in CATEGORIES:
        Category.objects.get_or_create(slug=slug, defaults={"name": name})
    categories = {c.slug: c for c in Category.objects.all()}

    _demo_sla()
    teams = {
        "support": team_create(name="Support", tier_count=3, description="Front line, L1 to L3.", actor=None),
        "engineering": team_create(name="Engineering", tier_count=2, description="Product defects and outages.", actor=None),
        "finance": team_create(name="Finance", tier_count=2, description="Invoices, refunds, balances.", actor=None),
    }
    agents: list[AgentProfile] = []
    for username, full_name, team_slugs, tier, lead, manager in AGENTS:
        agents.append(
            agent_create(
                username=username,
                email=f"{username}@escalada.example",
                password=password,
                full_name=full_name,
                teams=[teams[s] for s in team_slugs],
                tier=tier,
                time_zone="Europe/Berlin",
                is_team_lead=lead,
                is_escalation_manager=manager,
                actor=None,
            )
        )

    northwind = organization_create(
        data={
            "name": "Northwind",
            "domains": ["northwind.example"],
            "tier": Tier.ENTERPRISE,
            "time_zone": "Europe/Berlin",
            "external_id": "crm-0001",
        },
        actor=None,
    )
    organizations = [northwind]
    tiers = [Tier.FREE, Tier.STANDARD, Tier.STANDARD, Tier.PREMIUM, Tier.ENTERPRISE]
    zones = ["Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney"]
    seen_names = {"northwind"}
    while len(organizations) < 16:
        name = fake.company()
        if name.lower() in seen_names:
            continue
        seen_names.add(name.lower())
        domain = slugify(name.replace(",", " ").split(" ")[0]) + f"-{len(organizations)}.example"
        organizations.append(
            organization_create(
                data={
                    "name": name,
                    "domains": [domain],
                    "tier": rng.choice(tiers),
                    "time_zone": rng.choice(zones),
                    "external_id": f"crm-{len(organizations) + 1:04d}",
                },
                actor=None,
            )
        )

    ana = contact_create(
        data={"name": "Ana Lima", "email": "ana@northwind.example", "is_vip": True, "phone": "+49 30 1234567"}, actor=None
    )
    ana_user = User.objects.create_user(username="ana", email=ana.email, password=password, first_name="Ana", last_name="Lima")
    Contact.objects.filter(pk=ana.pk).update(user=ana_user)
    contacts = [ana]
    for org in organizations:
        org_domain = org.domains.first()
        domain_name = org_domain.domain if org_domain else "example.com"
        for _ in range(rng.randint(2, 6)):
            first, last = fake.first_name(), fake.last_name()
            email = f"{slugify(first)}.{slugify(last)}{rng.randint(1, 999)}@{domain_name}"
            if Contact.objects.filter(email=email).exists():
                continue
            contacts.append(
                contact_create(data={"name": f"{first} {last}", "email": email, "is_vip": rng.random() < 0.05}, actor=None)
            )
    for _ in range(10):  # people with no organization (gmail-style senders)
        email = f"{fake.user_name()}{rng.randint(1, 9999)}@mail.example"
        if not Contact.objects.filter(email=email).exists():
            contacts.append(contact_create(data={"name": fake.name(), "email": email}, actor=None))

    channels = list(Channel.values)
    by_team = {slug: [a for a in agents if teams[slug] in a.teams.all()] for slug in teams}
    for index in range(tickets_count):
        created = now - timedelta(minutes=rng.randint(5, 60 * 24 * 60))
        # Ticket 0 is Ana's, from DESIGN.md's scenario: billing, at Support's first tier.
        category_slug = "billing" if index == 0 else rng.choice(list(SUBJECTS))
        requester = ana if index == 0 else rng.choice(contacts)
        routed = {"billing": "finance", "technical": "engineering"}.get(category_slug, "support")
        team_slug = routed if index > 0 and rng.random() < 0.3 else "support"
        team = teams[team_slug]
        assignee = rng.choice(by_team[team_slug]).user if rng.random() < 0.7 else None
        ticket = tickets.ticket_open(
            subject=SUBJECTS[category_slug][0] if index == 0 else rng.choice(SUBJECTS[category_slug]),
            description="\n\n".join(fake.paragraphs(nb=rng.randint(1, 3))),
            requester=requester,
            channel=Channel.EMAIL if index == 0 else rng.choice(channels),
            priority=Priority.HIGH if index == 0 else rng.choices(Priority.values, weights=[1, 3, 8, 3])[0],
            severity=rng.choices(Severity.values, weights=[1, 2, 6, 4])[0],
            category=categories[category_slug],
            team=team,
            assignee=assignee,
            tags=rng.sample(["vip", "invoice", "api", "outage", "onboarding", "refund", "sso"], k=rng.randint(0, 2)),
            actor=None,
            now=created,
        )
        _demo_progress(ticket=ticket, rng=rng, fake=fake, created=created, now=now, assignee=assignee)
    _demo_escalations(teams=teams, rng=rng, now=now)
    for name, body, status in MACROS:
        macro_save(macro=None, data={"name": name, "body": body, "set_status": status}, actor=None, now=now)
    name, body, status = FINANCE_MACRO
    macro_save(
        macro=None, data={"name": name, "body": body, "set_status": status, "team_id": teams["finance"].pk}, actor=None, now=now
    )
    return DemoSummary(organizations=len(organizations), contacts=len(contacts), agents=len(agents), tickets=tickets_count)


def _targets(first: int, next_: int, resolution: int, priority: str) -> list[sla.TargetData]:
    return [
        {"priority": priority, "metric": "first_response", "minutes": first, "warn_percent": 75},
        {"priority": priority, "metric": "next_response", "minutes": next_, "warn_percent": 75},
        {"priority": priority, "metric": "resolution", "minutes": resolution, "warn_percent": 75},
    ]


def _demo_sla() -> None:
    """DESIGN.md's Berlin desk: business hours with Berlin's public holidays, and ranked policies."""
    berlin = sla.calendar_create(
        data={
            "name": "Berlin office",
            "time_zone": "Europe/Berlin",
            "weekly": {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            "holiday_country": "DE",
            "holiday_subdivision": "BE",
        },
        actor=None,
    )
    sla.policy_create(
        data={
            "name": "Sev 1 around the clock",
            "rank": 5,
            "conditions": [{"field": "severity", "operator": "is", "value": "sev1"}],
            "is_business_time": False,
            "calendar": None,
            "targets": [t for p in ("urgent", "high", "normal", "low") for t in _targets(15, 30, 240, p)],
        },
        actor=None,
    )
    enterprise = sla.policy_create(
        data={
            "name": "Enterprise — high",
            "rank": 10,
            "conditions": [
                {"field": "organization_tier", "operator": "is", "value": "enterprise"},
                {"field": "priority", "operator": "in", "value": ["urgent", "high"]},
            ],
            "calendar": berlin,
            "targets": [*_targets(30, 30, 240, "urgent"), *_targets(60, 60, 480, "high")],
        },
        actor=None,
    )
    # DESIGN.md's step 5: at 75 % of the resolution target the team lead hears of it; at the
    # breach the escalation manager takes the ticket and the customer is told.
    ladder_create(
        data={
            "name": "Enterprise escalation",
            "policy": enterprise,
            "levels": [
                {
                    "trigger": "metric_warning",
                    "metric": "resolution",
                    "offset_minutes": 0,
                    "actions": [{"type": "notify", "to": ["team_leads"]}],
                },
                {
                    "trigger": "metric_breach",
                    "metric": "resolution",
                    "offset_minutes": 0,
                    "actions": [
                        {"type": "assign_escalation_manager"},
                        {"type": "notify", "to": ["escalation_managers"]},
                        {"type": "notify_customer"},
                    ],
                },
            ],
        },
        actor=None,
    )
    sla.policy_create(
        data={
            "name": "Standard",
            "rank": 100,
            "calendar": berlin,
            "targets": [
                *_targets(60, 120, 480, "urgent"),
                *_targets(240, 240, 960, "high"),
                *_targets(480, 480, 2400, "normal"),
                *_targets(960, 960, 4800, "low"),
            ],
        },
        actor=None,
    )


def _demo_escalations(*, teams: dict[str, Team], rng: random.Random, now: datetime) -> None:
    """Playbooks, a sign-off rule, and a board with something on it: Ana's balance ticket
    escalated to L2 and transferred to Finance (DESIGN.md's steps 3 and 4), and a few others."""
    admin_now = now
    configuration.default_lists_ensure()
    # The matrix: outages go straight to L2 and then the escalation manager within 30 minutes;
    # everything else follows the team's tiers, then the escalation manager.
    configuration.matrix_cell_set(
        category="outage",
        severity=None,
        path=[{"tier": 1}, {"tier": 2, "response_minutes": 15}, {"role": "escalation_manager", "response_minutes": 30}],
        actor=None,
        now=admin_now,
    )
    configuration.matrix_cell_set(
        category=None,
        severity=None,
        path=[
            {"tier": 1},
            {"tier": 2, "response_minutes": 60},
            {"tier": 3, "response_minutes": 120},
            {"role": "escalation_manager"},
        ],
        actor=None,
        now=admin_now,
    )
    configuration.playbook_save(
        playbook=None,
        data={
            "name": "Billing dispute",
            "category": "billing-financial",
            "steps": [
                {"title": "Reproduce the balance from the invoice lines", "role": "finance agent", "due_minutes": 60},
                {"title": "Issue a credit note if we are wrong", "role": "finance lead", "due_minutes": 240},
                {"title": "Tell the customer what changed", "role": "owner", "due_minutes": 300},
            ],
        },
        actor=None,
        now=admin_now,
    )
    configuration.playbook_save(
        playbook=None,
        data={
            "name": "Outage response",
            "category": "outage",
            "steps": [
                {"title": "Confirm scope and open a status-page incident", "role": "engineering", "due_minutes": 15},
                {"title": "Hourly update to affected customers", "role": "owner", "due_minutes": 60},
            ],
        },
        actor=None,
        now=admin_now,
    )
    configuration.approval_rule_create(
        data={"category": "billing-financial", "approver_roles": ["team_lead"]}, actor=None, now=admin_now
    )
    users = {u.username: u for u in User.objects.filter(username__in=["sam", "lee", "riley"])}
    active = Ticket.objects.exclude(status__in=[Status.SOLVED, Status.CLOSED])
    ana_ticket = active.filter(requester__email="ana@northwind.example").order_by("pk").first()
    if ana_ticket is not None:
        escalating.escalate(
            ticket=ana_ticket,
            actor=users["sam"],
            request=escalating.EscalateRequest(
                reason="technical-expertise-needed",
                handoff_note="Balance is 0.12 EUR above the invoice total; two invoices show it. Not a payment issue.",
                category="billing-financial",
                tags=("account balance error",),
            ),
        )
        escalating.transfer(
            ticket=ana_ticket,
            actor=users["lee"],
            team=teams["finance"],
            reason="billing-dispute",
            handoff_note="Looks like rounding in invoice totals; Finance owns credit notes.",
        )
    reasons = ["lack-of-progress", "technical-expertise-needed", "executive-visibility", "sla-breach"]
    morgan = User.objects.get(username="morgan")
    others = active.filter(team=teams["support"], tier=1).exclude(requester__email="ana@northwind.example")[:6]
    for index, ticket in enumerate(others):
        escalation = escalating.escalate(
            ticket=ticket,
            actor=users[rng.choice(["sam", "riley"])],
            request=escalating.EscalateRequest(
                reason=rng.choice(reasons),
                handoff_note="Steps tried are in the thread; the customer is waiting on a fix, not an answer.",
                risk_likelihood=rng.randint(1, 5),
                risk_impact=rng.randint(1, 5),
            ),
        )
        # A board with every column in use: acknowledged, in progress, and one resolved with its root cause.
        if index >= 1:
            records.escalation_acknowledge(escalation=escalation, actor=morgan, now=timezone.now())
        if index >= 2:
            records.escalation_move(escalation=escalation, status="in_progress", actor=morgan, now=timezone.now())
        if index == 3:
            records.root_cause_save(
                escalation=escalation,
                data={
                    "category": "product-defect",
                    "description": "A release changed the default export encoding.",
                    "corrective_action": "Re-exported the customer's data.",
                    "preventive_action": "Regression test for the export encoding.",
                    "owning_team_id": teams["engineering"].pk,
                    "customer_summary": "A recent update changed how exports are encoded; we fixed your export.",
                },
                actor=morgan,
                now=timezone.now(),
            )
            escalating.resolve(escalation=escalation, actor=morgan)


def _demo_progress(
    *, ticket: Ticket, rng: random.Random, fake: Faker, created: datetime, now: datetime, assignee: User | None
) -> None:
    """Move a demo ticket along a plausible path: reply, maybe a note, maybe solved or closed."""
    if assignee is None or rng.random() < 0.25:
        return
    at = min(created + timedelta(minutes=rng.randint(3, 600)), now)
    if rng.random() < 0.2:
        tickets.ticket_reply(
            ticket=ticket, actor=assignee, body=fake.sentence(nb_words=14), visibility=Visibility.INTERNAL, now=at
        )
        at = min(at + timedelta(minutes=rng.randint(1, 60)), now)
    outcome = rng.random()
    target = Status.PENDING if outcome < 0.3 else (Status.SOLVED if outcome < 0.7 else None)
    tickets.ticket_reply(ticket=ticket, actor=assignee, body=fake.paragraph(nb_sentences=3), status=target, now=at)
    if target == Status.SOLVED and rng.random() < 0.5 and at + timedelta(days=4) < now:
        tickets.ticket_change_status(ticket=ticket, status=Status.CLOSED, actor=None, now=at + timedelta(days=4))


__all__ = ["demo_is_loaded", "demo_load"]
