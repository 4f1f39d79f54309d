from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from escalada.customers.models import Organization
from tests.app.conftest import World

pytestmark = pytest.mark.django_db


def test_customer_sees_only_their_organization_and_its_contacts(world: World, api_as: dict[str, Client]) -> None:
    orgs = api_as["ana"].get("/api/v1/organizations").json()["items"]
    assert [o["name"] for o in orgs] == ["Northwind"]
    assert orgs[0]["domains"] == ["northwind.example"]
    assert api_as["ana"].get(f"/api/v1/organizations/{world.contoso.pk}").status_code == 404
    contacts = api_as["ana"].get("/api/v1/contacts").json()["items"]
    assert [c["email"] for c in contacts] == ["ana@northwind.example"]
    assert api_as["ana"].get(f"/api/v1/contacts/{world.bob.pk}").status_code == 404
    assert (
        api_as["ana"].patch(f"/api/v1/contacts/{world.ana.pk}", {"name": "A"}, content_type="application/json").status_code == 403
    )


def test_agents_create_and_update(world: World, api_as: dict[str, Client]) -> None:
    created = api_as["sam"].post(
        "/api/v1/organizations",
        {"name": "Fabrikam", "domains": ["fabrikam.example"], "tier": "premium"},
        content_type="application/json",
    )
    assert created.status_code == 201
    org_id = created.json()["id"]
    patched = api_as["sam"].patch(f"/api/v1/organizations/{org_id}", {"tier": "enterprise"}, content_type="application/json")
    assert (patched.status_code, patched.json()["tier"], patched.json()["domains"]) == (200, "enterprise", ["fabrikam.example"])
    contact = api_as["sam"].post(
        "/api/v1/contacts", {"email": "eve@fabrikam.example", "name": "Eve"}, content_type="application/json"
    )
    assert (contact.status_code, contact.json()["organization_id"]) == (201, org_id)
    bad = api_as["sam"].patch(f"/api/v1/organizations/{org_id}", {"tier": "gold", "name": None}, content_type="application/json")
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"field": "tier", "message": "Input should be 'free', 'standard', 'premium' or 'enterprise'"}]


def test_csv_import_through_the_api(world: World, api_as: dict[str, Client]) -> None:
    text = "name,domains,tier\nTailspin,tailspin.example,free\n"
    as_body = api_as["admin"].post("/api/v1/organizations/import", text, content_type="text/csv")
    assert (as_body.status_code, as_body.json()) == (200, {"created": 1, "updated": 0, "unchanged": 0})
    upload = SimpleUploadedFile("orgs.csv", b"name,tier\nTailspin,premium\n", content_type="text/csv")
    as_file = api_as["admin"].post("/api/v1/organizations/import", {"file": upload})
    assert as_file.json() == {"created": 0, "updated": 1, "unchanged": 0}
    assert Organization.objects.get(name="Tailspin").tier == "premium"
    refused = api_as["ana"].post("/api/v1/organizations/import", text, content_type="text/csv")
    assert refused.status_code == 403
    broken = api_as["admin"].post("/api/v1/contacts/import", "email\nnope\n", content_type="text/csv")
    assert broken.status_code == 422
    assert broken.json()["errors"] == [{"field": "line 2: email", "message": "Enter a valid e-mail address."}]


def test_import_body_limit_is_larger_but_bounded(world: World, api_as: dict[str, Client], settings: Any) -> None:
    settings.ESCALADA_IMPORT_MAX_BYTES = 2 * 1024 * 1024
    over_default = "name,notes\nBig," + "n" * (1536 * 1024) + "\n"
    reached = api_as["admin"].post("/api/v1/organizations/import", over_default, content_type="text/csv")
    assert reached.status_code == 422  # past the 1 MiB limit of other calls, up to the importer
    assert reached.json()["errors"] == [
        {"field": "file", "message": "Line 2 is not valid CSV: field larger than field limit (131072)."}
    ]
    too_big = "name,notes\nBig," + "n" * (2100 * 1024) + "\n"
    refused = api_as["admin"].post("/api/v1/organizations/import", too_big, content_type="text/csv")
    assert (refused.status_code, refused.json()["code"]) == (413, "payload_too_large")
    assert not Organization.objects.filter(name="Big").exists()
