"""Give a first version to the records whose models started keeping history in
the release of 0008 (publication requests, ticket attachments, document
grants, subscribers) and that have none yet, and chain it, oldest first.

Such a record was written before its model kept versions, so 0008 found
nothing of it to chain, and it stayed outside the chain until its next
change. Each one now gets one version as it stands at the upgrade: history
type "+", dated at the record's own creation time (now for a model without
one), no user, the reason "version at upgrade (the record predates its
history)", every field the history table keeps copied from the record. Each
version is chained as 0008 chains records (link format 2, its personal fields
as salted commitments). Records that already have a version are left alone.

The hashing, the commitments and the append step are a frozen copy of those
of 0008 (themselves a frozen copy of `evidence.canonical`,
`evidence.personal` and `evidence.services.append_link`), so later changes to
those modules cannot change what an upgrade writes. Only inserts: the guards
on the history and ledger tables refuse updates, and the head moves forward
one link at a time.
"""

import hashlib
import json
import secrets
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db import migrations, transaction
from django.utils import timezone

HEAD_ID = 1
LINK_FORMAT = 2
SALT_BYTES = 32
REASON = "version at upgrade (the record predates its history)"
# The columns simple-history adds to a version; every other column is the record's own.
HISTORY_ATTNAMES = ("history_id", "history_date", "history_change_reason", "history_type", "history_user_id")
USER_ATTNAME = "history_user_id"
# (app, model): (the record's creation time attname or None, personal attnames of its versions)
VERSIONED = {
    ("compliance", "publicationrequest"): ("requested_at", ()),
    ("requests_app", "ticketattachment"): ("created_at", ("original_name",)),
    ("documents", "documentgrant"): ("granted_at", ("revoke_reason",)),
    ("subscriptions", "subscriber"): ("created_at", ("email",)),
}


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


def value_json(value):
    return json.dumps(plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def sha256_of(data):
    return hashlib.sha256(value_json(data)).hexdigest()


def commit(apps, alias, label, row_pk, row, personal):
    """Salt each personal field, store the salts and the commitments; return the commitments."""
    if not personal:
        return {}
    salts = {name: secrets.token_bytes(SALT_BYTES) for name in personal}
    salt_model = apps.get_model("evidence", "PersonalSalt")
    salt_model.objects.using(alias).bulk_create(
        salt_model(model_label=label, row_pk=row_pk, field=name, salt=salt) for name, salt in salts.items()
    )
    commitments = {name: hashlib.sha256(salt + value_json(row[name])).hexdigest() for name, salt in salts.items()}
    apps.get_model("evidence", "PersonalCommitment").objects.using(alias).create(
        model_label=label, row_pk=row_pk, commitments=commitments
    )
    return commitments


def username(models_from, user_id, using):
    user_model = models_from.get_model(settings.AUTH_USER_MODEL)
    field = getattr(user_model, "USERNAME_FIELD", "username")
    name = user_model._base_manager.using(using).filter(pk=user_id).values_list(field, flat=True).first()
    return str(name or "")


def append_link(*, label, row_pk, fields, attnames, commitments, user_attname, using, models_from, at):
    head_model = models_from.get_model("evidence", "ChainHead")
    schema_model = models_from.get_model("evidence", "ChainSchema")
    link_model = models_from.get_model("evidence", "ChainLink")
    with transaction.atomic(using=using):
        head = head_model.objects.using(using).select_for_update().get(pk=HEAD_ID)
        schema, _ = schema_model.objects.using(using).get_or_create(model_label=label, fields=",".join(attnames))
        hashed = {
            name: {"salted_sha256": commitments[name]} if name in commitments else fields[name] for name in attnames
        }
        row_hash = sha256_of(hashed)
        recorded_at = at
        if head.recorded_at is not None and head.recorded_at > recorded_at:
            recorded_at = head.recorded_at
        actor_id = fields.get(user_attname) if user_attname else None
        link = link_model(
            seq=head.seq + 1,
            model_label=label,
            row_pk=row_pk,
            schema=schema,
            recorded_at=recorded_at,
            actor_id=actor_id,
            actor_username=username(models_from, actor_id, using) if actor_id is not None else "",
            format=LINK_FORMAT,
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
                "format": link.format,
                "actor_username": link.actor_username,
            }
        )
        link.save(using=using, force_insert=True)
        head.seq, head.hash, head.recorded_at = link.seq, link.link_hash, recorded_at
        head.save(using=using, update_fields=["seq", "hash", "recorded_at"])
    return link


def history_model(apps, app_label, name):
    return apps.get_model(app_label, f"historical{name}")


def forwards(apps, schema_editor):
    alias = schema_editor.connection.alias
    apps.get_model("evidence", "ChainHead").objects.using(alias).get_or_create(pk=HEAD_ID)
    now = timezone.now()
    pending = []
    for (app_label, name), (created_field, personal) in VERSIONED.items():
        model = apps.get_model(app_label, name)
        versions = history_model(apps, app_label, name)
        pk_name = model._meta.pk.attname
        copied = sorted(f.attname for f in versions._meta.concrete_fields if f.attname not in HISTORY_ATTNAMES)
        records = model._base_manager.using(alias).exclude(pk__in=versions._base_manager.using(alias).values("id"))
        for record in records.values(*copied).iterator():
            created = record[created_field] if created_field else None
            at = created if created is not None else now
            pending.append((at, versions._meta.label_lower, record[pk_name], versions, record, personal))
    pending.sort(key=lambda item: item[:3])
    for at, label, _, versions, record, personal in pending:
        with transaction.atomic(using=alias):
            version = versions._base_manager.using(alias).create(
                **record,
                history_date=at,
                history_type="+",
                history_user_id=None,
                history_change_reason=REASON,
            )
            attnames = sorted(f.attname for f in versions._meta.concrete_fields)
            # Hash what the database stored, as the verifier reads it back.
            row = versions._base_manager.using(alias).filter(pk=version.pk).values(*attnames).get()
            append_link(
                label=label,
                row_pk=version.pk,
                fields=row,
                attnames=attnames,
                commitments=commit(apps, alias, label, version.pk, row, personal),
                user_attname=USER_ATTNAME,
                using=alias,
                models_from=apps,
                at=row["history_date"],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0008_chain_existing_records"),
        ("compliance", "0007_publication_request_history"),
        ("requests_app", "0010_attachment_history"),
        ("documents", "0004_grant_history"),
        ("subscriptions", "0004_subscriber_history"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
