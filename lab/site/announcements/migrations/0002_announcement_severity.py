"""The new cluster's code: announcements get a severity; existing maintenance notices are marked as such."""

from typing import Any

from django.db import migrations, models


def mark_maintenance(apps: Any, schema_editor: Any) -> None:
    announcement = apps.get_model("announcements", "Announcement")
    announcement.objects.filter(title__icontains="maintenance").update(severity="maintenance")


class Migration(migrations.Migration):
    dependencies = [("announcements", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="announcement",
            name="severity",
            field=models.CharField(
                choices=[("info", "Information"), ("maintenance", "Maintenance"), ("outage", "Outage")],
                default="info",
                max_length=20,
            ),
        ),
        migrations.RunPython(mark_maintenance, migrations.RunPython.noop),
    ]
