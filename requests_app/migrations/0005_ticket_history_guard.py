"""On PostgreSQL, refuse UPDATE and DELETE on the ticket history table except
inside `evidence.db.allow_history_purge` (the retention purge); elsewhere
nothing to do. The trigger function is the one evidence installs for the
content history, so there is one purge path and one record of its runs."""

from django.db import migrations

TABLE = "requests_app_historicalticket"


def forwards(apps, schema_editor):
    from evidence.db import guard_table

    guard_table(schema_editor.connection, TABLE)


def backwards(apps, schema_editor):
    from evidence.db import unguard_table

    unguard_table(schema_editor.connection, TABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0004_subscriptions_documents"),
        ("evidence", "0003_append_only_guards"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
