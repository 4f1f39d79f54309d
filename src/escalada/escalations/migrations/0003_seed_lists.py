"""The lists an admin edits, seeded with what support teams start from (DESIGN.md's words)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

REASONS = [
    ("SLA breach", "sla-breach"),
    ("Customer request", "customer-request"),
    ("Lack of progress", "lack-of-progress"),
    ("Executive visibility", "executive-visibility"),
    ("Technical expertise needed", "technical-expertise-needed"),
    ("Billing dispute", "billing-dispute"),
    ("Reopened", "reopened"),
]
DECISION_CATEGORIES = [
    ("Security", "security"),
    ("Outage", "outage"),
    ("Technical", "technical"),
    ("Billing / financial", "billing-financial"),
    ("Functional", "functional"),
    ("Staffing", "staffing"),
]
ROOT_CAUSE_CATEGORIES = [
    ("Product defect", "product-defect"),
    ("Documentation gap", "documentation-gap"),
    ("Process", "process"),
    ("Training", "training"),
    ("Third party", "third-party"),
    ("Capacity / staffing", "capacity-staffing"),
    ("Customer environment", "customer-environment"),
]


def seed(apps: Any, schema_editor: Any) -> None:
    for model_name, rows in (
        ("Reason", REASONS),
        ("DecisionCategory", DECISION_CATEGORIES),
        ("RootCauseCategory", ROOT_CAUSE_CATEGORIES),
    ):
        model = apps.get_model("escalations", model_name)
        for rank, (name, slug) in enumerate(rows, start=1):
            model.objects.get_or_create(slug=slug, defaults={"name": name, "rank": rank * 10})
    apps.get_model("escalations", "EscalationSettings").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0002_escalation_record")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
