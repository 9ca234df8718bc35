"""Writes to the evidence ledger."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.utils import timezone

from .canonical import LINK_FORMAT, hashed_row_digest, link_digest
from .models import HEAD_ID, ChainHead, ChainLink, ChainSchema
from .personal import personal_commit
from .registry import chained_models, read_rows
from .tlog_store import tree_append


def _locked_head(head_model: Any, using: str) -> Any:
    """The head row, locked until the transaction ends: writers queue here, so
    each takes the next sequence number and the previous hash in turn."""
    head = head_model.objects.using(using).select_for_update().filter(pk=HEAD_ID).first()
    if head is None:
        # Only a flushed test database or a hand-made one lacks the genesis row.
        head_model.objects.using(using).get_or_create(pk=HEAD_ID)
        head = head_model.objects.using(using).select_for_update().get(pk=HEAD_ID)
    return head


def chain_lock(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Take the head lock now, before a chained write locks rows of its own.

    Every writer then takes the head first and content rows after, in one
    order, so two transactions that write several rows cannot deadlock on
    the head. Outside a transaction there is nothing to hold it for.
    """
    if transaction.get_connection(using).in_atomic_block:
        _locked_head(ChainHead, using)


def _username(user_id: int, using: str) -> str:
    """A user's username now ("" for an id no user has)."""
    user_model = get_user_model()
    name = (
        user_model._default_manager.using(using)
        .filter(pk=user_id)
        .values_list(user_model.USERNAME_FIELD, flat=True)
        .first()
    )
    return str(name or "")


def append_link(
    *,
    label: str,
    row_pk: int,
    fields: dict[str, Any],
    attnames: list[str],
    user_attname: str | None,
    using: str,
    commitments: dict[str, str] | None = None,
) -> ChainLink:
    """Append one link, in the current link format, for a stored row whose
    fields are given: the building block of `chain_append`. (The migration that
    chained rows written before the ledger existed keeps its own frozen copy of
    this code, in format 1; no migration calls this.) `commitments` stand in
    for the personal fields' values (evidence.personal)."""
    with transaction.atomic(using=using):
        head = _locked_head(ChainHead, using)
        schema, _ = ChainSchema.objects.using(using).get_or_create(model_label=label, fields=",".join(attnames))
        row_hash = hashed_row_digest(fields, attnames, commitments)
        # Clocks of several app servers may disagree; times on the chain never go back.
        recorded_at = timezone.now()
        if head.recorded_at is not None and head.recorded_at > recorded_at:
            recorded_at = head.recorded_at
        actor_id = fields.get(user_attname) if user_attname else None
        link = ChainLink(
            seq=head.seq + 1,
            model_label=label,
            row_pk=row_pk,
            schema=schema,
            recorded_at=recorded_at,
            actor_id=actor_id,
            # The name as it is now, frozen into the link: a later rename changes no entry.
            actor_username=_username(actor_id, using) if actor_id is not None else "",
            format=LINK_FORMAT,
            row_hash=row_hash,
            prev_hash=head.hash,
        )
        link.link_hash = link_digest(
            seq=link.seq,
            model_label=label,
            row_pk=row_pk,
            row_hash=row_hash,
            prev_hash=link.prev_hash,
            recorded_at=link.recorded_at,
            actor_id=link.actor_id,
            actor_username=link.actor_username,
            format=link.format,
        )
        link.save(using=using, force_insert=True)
        # The transparency log's tree grows with the chain, under the same lock.
        tree_append(link, using=using)
        head.seq, head.hash, head.recorded_at = link.seq, link.link_hash, recorded_at
        head.save(using=using, update_fields=["seq", "hash", "recorded_at"])
    return link


def chain_append(*, instance: models.Model, using: str = DEFAULT_DB_ALIAS) -> ChainLink:
    """Append the just-inserted `instance` (a row of a chained model) to the chain.

    Runs inside the caller's transaction, so the row and its link commit or
    roll back together. Side effects: one ChainLink (and a ChainSchema the
    first time a table shape is seen); the head moves to the new link; for a
    model with personal fields, their salts and commitments (evidence.personal).
    """
    chained = chained_models()[type(instance)._meta.label_lower]
    # Hash what the database stored, not the Python object: the verifier reads it back.
    fields = read_rows(chained.model, [instance.pk], using)[instance.pk]
    commitments = personal_commit(chained=chained, row_pk=instance.pk, row=fields, using=using)
    return append_link(
        label=chained.label,
        row_pk=instance.pk,
        fields=fields,
        attnames=chained.attnames,
        user_attname=chained.user_attname,
        using=using,
        commitments=commitments,
    )
