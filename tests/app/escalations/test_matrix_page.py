"""Settings → Escalation matrix: the grid with its gaps, and the admin's cell form."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from escalada.escalations.models import MatrixCell
from tests.app.conftest import World, database_state

pytestmark = pytest.mark.django_db


def test_the_grid_shows_own_cells_and_what_decides_the_gaps(world: World, web_as: dict[str, Client]) -> None:
    before = database_state()
    bad = web_as["admin"].post(
        "/settings/escalation-matrix/", {"category": "security", "severity": "sev1", "path": '[{"team_id": 999}]'}
    )
    assert (bad.status_code, "path[0].team_id: There is no team 999." in bad.content.decode()) == (422, True)
    not_json = web_as["admin"].post("/settings/escalation-matrix/", {"category": "", "severity": "", "path": "[{"})
    assert "Not JSON" in not_json.content.decode()
    assert web_as["sam"].post("/settings/escalation-matrix/", {"path": "[]"}).status_code == 403
    assert database_state() == before
    path = [{"tier": 1}, {"team_id": world.finance.pk, "tier": 2, "response_minutes": 30}]
    saved = web_as["admin"].post(
        "/settings/escalation-matrix/", {"category": "security", "severity": "sev1", "path": json.dumps(path)}
    )
    assert (saved.status_code, saved["Location"]) == (302, "/settings/escalation-matrix/")
    assert MatrixCell.objects.get().key == "security:sev1"
    page = web_as["sam"].get("/settings/escalation-matrix/").content.decode()
    assert "the ticket&#x27;s team L1 → Finance L2 (30 min)" in page
    assert "matrix cell security × sev1" in page
    assert "the team&#x27;s tiers (no matrix cell applies)" in page  # every other pair is a gap
    assert "Set a cell" not in page  # agents look, admins change
    assert web_as["ana"].get("/settings/escalation-matrix/").status_code == 403
