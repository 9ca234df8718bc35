"""A notice's mail is a core.OutboxMail now; the same table, so state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0002_single_line_constraints"),
        ("core", "0001_outbox_moves_to_core"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="subprocessornotice",
                    name="mail",
                    field=models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="core.outboxmail"
                    ),
                ),
            ],
        ),
    ]
