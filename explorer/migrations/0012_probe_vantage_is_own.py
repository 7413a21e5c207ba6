# A probe's vantage defaults to the central stack's own (settings.VANTAGE_NAME), not the literal "local"

import explorer.models.probes
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('explorer', '0011_vantage_alert_kinds'),
    ]

    operations = [
        migrations.AlterField(
            model_name='probe',
            name='vantage',
            field=models.CharField(db_index=True, default=explorer.models.probes.own_vantage, max_length=64),
        ),
    ]
