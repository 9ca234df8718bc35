"""Create the chain's genesis head, and chain the content history written
before the ledger existed, oldest first."""

from django.db import migrations

CONTENT_HISTORY = (
    "historicalorganization", "historicalsection", "historicalcertification", "historicalcontrol",
    "historicalsubprocessor", "historicaldatahandlingrow", "historicalgdprfact", "historicalcontactroute",
)


def forwards(apps, schema_editor):
    from evidence.services import append_link

    alias = schema_editor.connection.alias
    ChainHead = apps.get_model("evidence", "ChainHead")
    ChainHead.objects.using(alias).get_or_create(pk=1)
    pending = []
    for name in CONTENT_HISTORY:
        model = apps.get_model("compliance", name)
        attnames = sorted(f.attname for f in model._meta.concrete_fields)
        for row in model._base_manager.using(alias).values(*attnames).iterator():
            pending.append((row["history_date"], model._meta.label_lower, row["history_id"], row, attnames))
    pending.sort(key=lambda item: item[:3])
    for _, label, pk, row, attnames in pending:
        append_link(
            label=label, row_pk=pk, fields=row, attnames=attnames,
            user_attname="history_user_id", using=alias, models_from=apps,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0001_initial"),
        ("compliance", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
