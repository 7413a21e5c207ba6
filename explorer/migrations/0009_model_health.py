"""A model's health word (healthy, degraded or broken) and since when it holds, beside /api/v1's healthy flag."""

from django.db import migrations, models


def from_healthy_flag(apps, schema_editor):
    """The flag cannot tell healthy from degraded: a covered model starts as healthy since its flag last flipped, and
    the next crawl writes the word it really has (and since when, if that differs)."""
    Model = apps.get_model("explorer", "Model")
    Model.objects.filter(healthy=False).update(health="broken", health_since=models.F("healthy_since"))
    Model.objects.filter(healthy=True).update(health="healthy", health_since=models.F("healthy_since"))


class Migration(migrations.Migration):
    dependencies = [("explorer", "0008_statechange_span_changed")]

    operations = [
        migrations.AddField(model_name="model", name="health",
                            field=models.CharField(blank=True, default="", max_length=16)),
        migrations.AddField(model_name="model", name="health_since",
                            field=models.DateTimeField(blank=True, null=True)),
        migrations.RunPython(from_healthy_flag, migrations.RunPython.noop),
    ]
