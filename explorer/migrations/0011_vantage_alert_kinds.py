# The alert rule kinds "unreachable from n of m vantages" and "vantage down"

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('explorer', '0010_vantages'),
    ]

    operations = [
        migrations.AlterField(
            model_name='alertrule',
            name='kind',
            field=models.CharField(choices=[('model_broken', 'model broken'), ('model_degraded', 'model degraded'), ('server_gone', 'server gone'), ('probe_failing', 'probe failing'), ('probe_slow', 'probe slow'), ('server_inconsistent', 'server inconsistent'), ('bootstrap_unreachable', 'bootstrap peers unreachable'), ('crawler_stale', 'crawler stale'), ('version_drift', 'version drift'), ('unreachable_from', 'unreachable from n of m vantages'), ('vantage_down', 'vantage down')], max_length=32),
        ),
        migrations.AlterField(
            model_name='silence',
            name='kind',
            field=models.CharField(blank=True, choices=[('model_broken', 'model broken'), ('model_degraded', 'model degraded'), ('server_gone', 'server gone'), ('probe_failing', 'probe failing'), ('probe_slow', 'probe slow'), ('server_inconsistent', 'server inconsistent'), ('bootstrap_unreachable', 'bootstrap peers unreachable'), ('crawler_stale', 'crawler stale'), ('version_drift', 'version drift'), ('unreachable_from', 'unreachable from n of m vantages'), ('vantage_down', 'vantage down')], default='', help_text='rule kind; empty: any', max_length=32),
        ),
    ]
