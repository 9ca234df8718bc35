"""Create the chain's genesis head, and chain the content history and the
publications written before the ledger existed, oldest first.

The hashing and the append step are a frozen copy of `evidence.canonical` and
`evidence.services.append_link` as they stood when this migration was written,
so that later changes to those modules cannot change what a fresh install
writes (the verifier must keep accepting these links).
"""

import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

from django.db import migrations, transaction

HEAD_ID = 1

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


def utc_iso(value):
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plain(value):
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value // timedelta(microseconds=1)
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def sha256_of(data):
    encoded = json.dumps(plain(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def append_link(*, label, row_pk, fields, attnames, user_attname, using, models_from, at):
    head_model = models_from.get_model("evidence", "ChainHead")
    schema_model = models_from.get_model("evidence", "ChainSchema")
    link_model = models_from.get_model("evidence", "ChainLink")
    with transaction.atomic(using=using):
        head = head_model.objects.using(using).select_for_update().get(pk=HEAD_ID)
        schema, _ = schema_model.objects.using(using).get_or_create(model_label=label, fields=",".join(attnames))
        row_hash = sha256_of({name: fields[name] for name in attnames})
        recorded_at = at
        if head.recorded_at is not None and head.recorded_at > recorded_at:
            recorded_at = head.recorded_at
        link = link_model(
            seq=head.seq + 1,
            model_label=label,
            row_pk=row_pk,
            schema=schema,
            recorded_at=recorded_at,
            actor_id=fields.get(user_attname) if user_attname else None,
            row_hash=row_hash,
            prev_hash=head.hash,
        )
        link.link_hash = sha256_of(
            {
                "seq": link.seq,
                "model": label,
                "row_pk": row_pk,
                "row_hash": row_hash,
                "prev_hash": link.prev_hash,
                "recorded_at": link.recorded_at,
                "actor_id": link.actor_id,
            }
        )
        link.save(using=using, force_insert=True)
        head.seq, head.hash, head.recorded_at = link.seq, link.link_hash, recorded_at
        head.save(using=using, update_fields=["seq", "hash", "recorded_at"])
    return link


def forwards(apps, schema_editor):
    alias = schema_editor.connection.alias
    ChainHead = apps.get_model("evidence", "ChainHead")
    ChainHead.objects.using(alias).get_or_create(pk=HEAD_ID)
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
