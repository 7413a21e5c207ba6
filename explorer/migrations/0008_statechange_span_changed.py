"""A span change is a field of the state change (it was recognised by its reason's words)."""

from django.db import migrations, models


def mark_span_changes(apps, schema_editor):
    StateChange = apps.get_model("explorer", "StateChange")
    StateChange.objects.filter(reason__startswith="span changed").update(span_changed=True)


class Migration(migrations.Migration):
    dependencies = [("explorer", "0007_channel_kind_declared_by_transports")]

    operations = [
        migrations.AddField(model_name="statechange", name="span_changed", field=models.BooleanField(default=False)),
        migrations.RunPython(mark_span_changes, migrations.RunPython.noop),
    ]
