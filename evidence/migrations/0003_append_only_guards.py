"""On PostgreSQL, refuse UPDATE and DELETE on the content history tables and
the ledger (see evidence.db); elsewhere nothing to do."""

from django.db import migrations


def forwards(apps, schema_editor):
    from evidence.db import install_guards

    install_guards(schema_editor.connection)


def backwards(apps, schema_editor):
    from evidence.db import remove_guards

    remove_guards(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0002_genesis_and_existing_history"),
        ("compliance", "0003_document"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
