"""Create the chain's genesis head, and chain the content history and the
publications written before the ledger existed, oldest first."""

from django.db import migrations

CONTENT_HISTORY = (
    "historicalorganization",
    "historicalsection",
    "historicalcertification",
    "historicalcontrol",
    "historicalsubprocessor",
    "historicaldatahandlingrow",
    "historicalgdprfact",
    "historicalcontactroute",
    "historicaldocument",
)
# model name: (time field, user field)
CHAINED = {name: ("history_date", "history_user_id") for name in CONTENT_HISTORY}
CHAINED["publication"] = ("snapshot_taken_at", "approved_by_id")


def forwards(apps, schema_editor):
    from evidence.services import append_link

    alias = schema_editor.connection.alias
    ChainHead = apps.get_model("evidence", "ChainHead")
    ChainHead.objects.using(alias).get_or_create(pk=1)
    pending = []
    for name, (time_field, user_field) in CHAINED.items():
        model = apps.get_model("compliance", name)
        attnames = sorted(f.attname for f in model._meta.concrete_fields)
        pk_name = model._meta.pk.attname
        for row in model._base_manager.using(alias).values(*attnames).iterator():
            pending.append((row[time_field], model._meta.label_lower, row[pk_name], row, attnames, user_field))
    pending.sort(key=lambda item: item[:3])
    for at, label, pk, row, attnames, user_field in pending:
        append_link(
            label=label,
            row_pk=pk,
            fields=row,
            attnames=attnames,
            user_attname=user_field,
            using=alias,
            models_from=apps,
            at=at,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0001_initial"),
        ("compliance", "0003_document"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
