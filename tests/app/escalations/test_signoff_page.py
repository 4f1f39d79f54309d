"""Settings → Sign-off and risk: rules that hold resolutions, the appetite, the reopen rule."""

from __future__ import annotations

import pytest
from django.test import Client

from escalada.escalations.models import ApprovalRule
from escalada.escalations.records import escalation_settings
from tests.app.conftest import World, database_state

pytestmark = pytest.mark.django_db


def test_admins_mark_what_needs_sign_off_and_set_the_appetite(world: World, web_as: dict[str, Client]) -> None:
    page = web_as["sam"].get("/settings/sign-off/").content.decode()
    assert "No escalation needs sign-off yet." in page
    before = database_state()
    assert web_as["sam"].post("/settings/sign-off/", {"form": "settings", "risk_appetite": "3"}).status_code == 403
    nobody = web_as["admin"].post("/settings/sign-off/", {"form": "rule", "category": "billing-financial"})
    assert (nobody.status_code, "Say who signs off" in nobody.content.decode()) == (422, True)
    too_high = web_as["admin"].post("/settings/sign-off/", {"form": "settings", "risk_appetite": "30"})
    assert too_high.status_code == 422
    assert database_state() == before
    rule = web_as["admin"].post(
        "/settings/sign-off/",
        {"form": "rule", "category": "billing-financial", "severities": ["sev1", "sev2"], "approver_roles": ["team_lead"]},
    )
    assert rule.status_code == 302
    saved = ApprovalRule.objects.get()
    assert (saved.category.slug if saved.category else None, saved.severities, saved.approver_roles) == (
        "billing-financial",
        ["sev1", "sev2"],
        ["team_lead"],
    )
    settings_saved = web_as["admin"].post(
        "/settings/sign-off/",
        {
            "form": "settings",
            "risk_appetite": "9",
            "executive_emails": "cxo@escalada.test\ncfo@escalada.test",
            "escalate_on_reopen": "2",
        },
    )
    assert settings_saved.status_code == 302
    current = escalation_settings()
    assert (current.risk_appetite, current.executive_emails, current.escalate_on_reopen) == (
        9,
        ["cxo@escalada.test", "cfo@escalada.test"],
        2,
    )
    bad_mail = web_as["admin"].post(
        "/settings/sign-off/", {"form": "settings", "risk_appetite": "9", "executive_emails": "not-an-address"}
    )
    assert bad_mail.status_code == 422
