"""Chain the records that joined the chain with the salted commitments to
personal data (tickets' versions, events and notes, NDA acceptances,
downloads, notices, objections) and were written before, oldest first.

Models that started keeping history in the same release (publication
requests, attachments, grants, subscribers) have no versions yet: their next
change is their first chained version.

The hashing, the commitments and the append step (link format 2: the
actor's username frozen into the link) are a frozen copy of
`evidence.canonical`, `evidence.personal` and `evidence.services.append_link`
as they stood when this migration was written (as in 0002), so later changes
to those modules cannot change what an upgrade writes.
"""

import hashlib
import json
import secrets
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db import migrations, transaction

HEAD_ID = 1
LINK_FORMAT = 2
SALT_BYTES = 32

TICKET_PERSONAL = (
    "requester_name",
    "requester_email",
    "account_email",
    "legal_entity",
    "details",
    "form_data",
    "submitted_ip",
    "extension_reason",
    "history_change_reason",
)
# (app, model): (time attname, user attname, personal attnames)
CHAINED = {
    ("requests_app", "historicalticket"): ("history_date", "history_user_id", TICKET_PERSONAL),
    ("requests_app", "ticketevent"): ("created_at", "actor_id", ("message",)),
    ("requests_app", "ticketnote"): ("created_at", "author_id", ("body",)),
    ("documents", "ndaacceptance"): ("accepted_at", None, ("ip", "user_agent")),
    ("documents", "documentdownload"): ("downloaded_at", None, ("ip", "user_agent")),
    ("subscriptions", "subprocessornotice"): ("created_at", None, ()),
    ("subscriptions", "subprocessorobjection"): ("created_at", None, ()),
    # Empty on an upgrade (their history starts in this release); listed so none is ever left out.
    ("requests_app", "historicalticketattachment"): ("history_date", "history_user_id", ("original_name",)),
    ("documents", "historicaldocumentgrant"): ("history_date", "history_user_id", ("revoke_reason",)),
    ("subscriptions", "historicalsubscriber"): ("history_date", "history_user_id", ("email",)),
    ("compliance", "historicalpublicationrequest"): ("history_date", "history_user_id", ()),
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


def forwards(apps, schema_editor):
    alias = schema_editor.connection.alias
    apps.get_model("evidence", "ChainHead").objects.using(alias).get_or_create(pk=HEAD_ID)
    linked = apps.get_model("evidence", "ChainLink").objects.using(alias)
    pending = []
    for (app_label, name), (time_field, user_field, personal) in CHAINED.items():
        model = apps.get_model(app_label, name)
        label = model._meta.label_lower
        attnames = sorted(f.attname for f in model._meta.concrete_fields)
        pk_name = model._meta.pk.attname
        rows = model._base_manager.using(alias).exclude(pk__in=linked.filter(model_label=label).values("row_pk"))
        for row in rows.values(*attnames).iterator():
            pending.append((row[time_field], label, row[pk_name], row, attnames, user_field, personal))
    pending.sort(key=lambda item: item[:3])
    for at, label, pk, row, attnames, user_field, personal in pending:
        append_link(
            label=label,
            row_pk=pk,
            fields=row,
            attnames=attnames,
            commitments=commit(apps, alias, label, pk, row, personal),
            user_attname=user_field,
            using=alias,
            models_from=apps,
            at=at,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0007_personal_data_commitments"),
        ("requests_app", "0010_attachment_history"),
        ("documents", "0004_grant_history"),
        ("subscriptions", "0004_subscriber_history"),
        ("compliance", "0007_publication_request_history"),
        ("accounts", "0007_account_change_events"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
