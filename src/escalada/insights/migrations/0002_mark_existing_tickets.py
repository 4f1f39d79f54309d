"""Upgrading an install that has tickets: mark them all, so the worker's `report_rollups` job
fills the reports in the background (at a few thousand tickets a second) without a manual
`escalada reports rebuild`."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0001_initial"),
        ("audit", "0003_change"),
        ("tickets", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql="INSERT INTO audit_change (subject_type, subject_id) SELECT 'ticket', id FROM tickets_ticket",
            reverse_sql=migrations.RunSQL.noop,
        )
    ]
