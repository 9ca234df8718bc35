from django.db import migrations

# Live tables refuse control characters in one-line fields on PostgreSQL
# (history tables keep what they hold). The columns are listed here, not read
# from the models, so that later edits of the models cannot change what this
# migration did. NOT VALID: rows written before the rule are left as they are
# (writers of line-based formats clean values anyway); every new or changed
# row is checked.
SINGLE_LINE_COLUMNS = [
    ("compliance_organization", "name"),
    ("compliance_organization", "legal_name"),
    ("compliance_organization", "page_title"),
    ("compliance_organization", "website"),
    ("compliance_organization", "contact_email"),
    ("compliance_organization", "security_email"),
    ("compliance_organization", "preferred_languages"),
    ("compliance_section", "title"),
    ("compliance_certification", "name"),
    ("compliance_certification", "target"),
    ("compliance_control", "group"),
    ("compliance_control", "title"),
    ("compliance_subprocessor", "name"),
    ("compliance_subprocessor", "purpose"),
    ("compliance_subprocessor", "certifications"),
    ("compliance_subprocessor", "location"),
    ("compliance_datahandlingrow", "category"),
    ("compliance_gdprfact", "label"),
    ("compliance_contactroute", "label"),
    ("compliance_contactroute", "email"),
    ("compliance_contactroute", "topics"),
    ("compliance_document", "title"),
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
        ("compliance", "0003_document"),
    ]

    operations = [
        migrations.RunPython(add_constraints, drop_constraints),
    ]
