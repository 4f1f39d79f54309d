from __future__ import annotations

import pytest

from escalada.audit.models import Event
from escalada.base.errors import ValidationFailed
from escalada.customers.models import Contact, Organization, OrganizationDomain
from escalada.customers.services import (
    contact_create,
    contact_find_or_create,
    contact_import_csv,
    contact_update,
    organization_create,
    organization_import_csv,
    organization_update,
)
from tests.app.conftest import World

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int, int]:
    return Organization.objects.count(), OrganizationDomain.objects.count(), Contact.objects.count(), Event.objects.count()


def _events(kind_prefix: str) -> list[Event]:
    return list(Event.objects.filter(kind__startswith=kind_prefix).order_by("pk"))


def test_organization_create_and_update_write_one_event_each(world: World) -> None:
    org = organization_create(
        data={"name": "Fabrikam", "domains": ["Fabrikam.example", "@fab.example"], "tier": "premium", "time_zone": "Asia/Tokyo"},
        actor=world.admin,
    )
    assert sorted(org.domains.values_list("domain", flat=True)) == ["fab.example", "fabrikam.example"]
    [created] = Event.objects.filter(stream=f"organization:{org.pk}")
    assert (created.kind, created.after["domains"], created.after["tier"]) == (
        "organization.created",
        ["fab.example", "fabrikam.example"],
        "premium",
    )
    organization_update(organization=org, data={"tier": "enterprise", "domains": ["fab.example"]}, actor=world.admin)
    updated = Event.objects.filter(stream=f"organization:{org.pk}").order_by("seq").last()
    assert updated is not None
    assert (updated.kind, updated.before, updated.after) == (
        "organization.updated",
        {"tier": "premium", "domains": ["fab.example", "fabrikam.example"]},
        {"tier": "enterprise", "domains": ["fab.example"]},
    )


def test_organization_refusals_change_nothing(world: World) -> None:
    before = _counts()
    with pytest.raises(ValidationFailed) as caught:
        organization_create(
            data={
                "name": "northwind",
                "domains": ["contoso.example", "not a domain"],
                "tier": "gold",
                "time_zone": "Mars/Olympus",
            },
            actor=world.admin,
        )
    assert caught.value.errors == {
        "name": "An organization named 'northwind' exists already.",
        "tier": "Tier is one of free, standard, premium, enterprise.",
        "time_zone": "'Mars/Olympus' is not an IANA time zone such as Europe/Berlin.",
        "domains": "Not a domain name: not a domain.",
    }
    with pytest.raises(ValidationFailed) as taken:
        organization_update(organization=world.northwind, data={"domains": ["contoso.example"]}, actor=world.admin)
    assert taken.value.errors == {"domains": "Already belongs to another organization: contoso.example."}
    assert _counts() == before


def test_contact_joins_the_organization_of_its_domain(world: World) -> None:
    contact = contact_create(data={"email": " Carla@Northwind.Example "}, actor=None)
    assert (contact.email, contact.name, contact.organization_id, contact.time_zone) == (
        "carla@northwind.example",
        "carla",
        world.northwind.pk,
        "Europe/Berlin",
    )
    assert contact_find_or_create(email="CARLA@northwind.example", actor=None).pk == contact.pk


def test_contact_update_records_changes_and_refuses_duplicates(world: World) -> None:
    contact_update(contact=world.ana, data={"is_vip": True, "phone": "+49 1"}, actor=world.sam.user)
    event = Event.objects.filter(stream=f"contact:{world.ana.pk}").get()
    assert (event.kind, event.before, event.after) == (
        "contact.updated",
        {"phone": "", "is_vip": False},
        {"phone": "+49 1", "is_vip": True},
    )
    before = _counts()
    with pytest.raises(ValidationFailed) as caught:
        contact_update(contact=world.ana, data={"email": "bob@contoso.example"}, actor=world.sam.user)
    assert caught.value.errors == {"email": "Another contact has the address bob@contoso.example."}
    assert _counts() == before


ORGS_CSV = """name,domains,tier,time_zone,external_id,notes
Northwind,northwind.example nw.example,enterprise,Europe/Berlin,crm-1,Key account
Tailspin,tailspin.example,free,America/New_York,crm-2,
"""


def test_organization_import_creates_and_updates(world: World) -> None:
    result = organization_import_csv(text=ORGS_CSV, actor=world.admin)
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    world.northwind.refresh_from_db()
    assert (world.northwind.tier, world.northwind.external_id, world.northwind.notes) == ("enterprise", "crm-1", "Key account")
    assert sorted(world.northwind.domains.values_list("domain", flat=True)) == ["northwind.example", "nw.example"]
    again = organization_import_csv(text=ORGS_CSV, actor=world.admin)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_organization_import_is_all_or_nothing(world: World) -> None:
    before = _counts()
    bad = ORGS_CSV + "Tailspin,,gold,,,\n,x.example,,,,\n"
    with pytest.raises(ValidationFailed) as caught:
        organization_import_csv(text=bad, actor=world.admin)
    assert caught.value.message == "Nothing was imported; fix these rows and try again."
    assert caught.value.errors == {
        "line 4: tier": "Tier is one of free, standard, premium, enterprise.",
        "line 4: name": "Also on line 3.",
        "line 5: name": "Give a name of 1 to 200 characters.",
    }
    assert _counts() == before


def test_import_header_problems(world: World) -> None:
    with pytest.raises(ValidationFailed) as missing:
        organization_import_csv(text="title\nX\n", actor=None)
    assert missing.value.errors == {"file": "The header row lacks the column(s): name."}
    with pytest.raises(ValidationFailed) as unknown:
        contact_import_csv(text="email,shoe size\na@b.example,42\n", actor=None)
    assert unknown.value.errors == {
        "file": "Unknown column(s): shoe size. Known: email, external_id, name, organization, organization_external_id, phone, time_zone, vip."
    }


def test_contact_import(world: World) -> None:
    text = (
        "email,name,organization,vip,phone\n"
        "ana@northwind.example,Ana Lima,Northwind,yes,+49 30\n"
        "dan@tailspin.example,Dan Ray,Contoso,no,\n"
    )
    result = contact_import_csv(text=text, actor=world.admin)
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    dan = Contact.objects.get(email="dan@tailspin.example")
    assert (dan.name, dan.organization_id, dan.is_vip) == ("Dan Ray", world.contoso.pk, False)
    world.ana.refresh_from_db()
    assert (world.ana.is_vip, world.ana.phone) == (True, "+49 30")
    before = _counts()
    with pytest.raises(ValidationFailed) as caught:
        contact_import_csv(text="email,organization,vip\nnot-an-email,Nowhere,maybe\n", actor=world.admin)
    assert caught.value.errors == {
        "line 2: vip": "Write yes or no.",
        "line 2: organization": "No organization is named 'Nowhere'.",
        "line 2: email": "Enter a valid e-mail address.",
    }
    assert _counts() == before
