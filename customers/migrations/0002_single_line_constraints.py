from django.db import migrations

# Live tables refuse control characters in one-line fields on PostgreSQL
# (history tables keep what they hold). The columns are listed here, not read
# from the models, so that later edits of the models cannot change what this
# migration did. NOT VALID: rows written before the rule are left as they are
# (writers of line-based formats clean values anyway); every new or changed
# row is checked.
SINGLE_LINE_COLUMNS = [
    ("customers_customer", "name"),
    ("customers_contact", "name"),
    ("customers_contact", "email"),
    ("customers_incident", "title"),
]
# A PostgreSQL regular expression: C0 controls (NUL cannot be stored at all) and DEL.
CONTROL_CHARACTERS_SQL = r"'[\x01-\x1f\x7f]'"


def constraint_name(table: str, column: str) -> str:
    return f"{table}_{column}_one_line"[-63:]


def add_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in SINGLE_LINE_COLUMNS:
        schema_editor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{constraint_name(table, column)}" '
            f'CHECK ("{column}" !~ {CONTROL_CHARACTERS_SQL}) NOT VALID'
        )


def drop_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in SINGLE_LINE_COLUMNS:
        schema_editor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{constraint_name(table, column)}"')


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(add_constraints, drop_constraints),
    ]
