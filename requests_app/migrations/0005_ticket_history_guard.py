"""On PostgreSQL, refuse UPDATE and DELETE on the ticket history table except
inside `evidence.db.allow_history_purge` (the retention purge); elsewhere
nothing to do. The trigger function is the one evidence installs for the
content history, so there is one purge path and one record of its runs.

The SQL is a frozen copy of `evidence.db.guard_table` as it stood when this
migration was written (the function is created by evidence's migration 0003,
which this one depends on).
"""

from django.db import migrations

TABLE = "requests_app_historicalticket"
TRIGGER_NAME = "evidence_append_only"


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    quoted = connection.ops.quote_name(TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER_NAME} ON {quoted}")
        cursor.execute(
            f"CREATE TRIGGER {TRIGGER_NAME} BEFORE UPDATE OR DELETE ON {quoted} "
            "FOR EACH ROW EXECUTE FUNCTION evidence_refuse_rewrite()"
        )


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER_NAME} ON {connection.ops.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0004_subscriptions_documents"),
        ("evidence", "0003_append_only_guards"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
