# New columns keep a database default, so code of the previous release can still insert.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0005_frozen_snapshot_review"),
    ]

    operations = [
        migrations.AddField(
            model_name="publication",
            name="approved_by_username",
            field=models.CharField(blank=True, db_default="", editable=False, max_length=150),
        ),
        migrations.AddField(
            model_name="publication",
            name="requested_by_username",
            field=models.CharField(blank=True, db_default="", editable=False, max_length=150),
        ),
    ]
