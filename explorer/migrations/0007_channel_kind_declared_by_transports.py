"""A channel's kind is one its transport declares (explorer.alerting.transports): the model keeps no list of them."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("explorer", "0006_crawl_checks_deferred")]

    operations = [
        migrations.AlterField(model_name="alertchannel", name="kind", field=models.CharField(max_length=16)),
    ]
