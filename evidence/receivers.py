"""Every insert into a chained table is appended to the chain.

The chained tables are those whose models declare a `ChainSpec` (see
`evidence.registry`); `connect()` attaches these receivers to exactly them.

These are signal receivers on purpose, although services do the writes
elsewhere: chaining is infrastructure that every write has to pass through,
whichever service, command or migration makes it, and simple-history creates
history rows from its own post_save. A receiver cannot be forgotten by the
next service; a missed call would leave a row the verifier reports.
"""

from functools import partial
from typing import Any

from django.db import models, transaction
from django.db.models.signals import post_save, pre_delete, pre_save
from simple_history.signals import post_create_historical_record

from .checkpoints import checkpoint_after_publication
from .registry import chained_models
from .services import chain_append, chain_lock

DISPATCH_UID = "evidence.chain"


def on_history_row(
    sender: type[models.Model], history_instance: models.Model, using: str | None = None, **kwargs: Any
) -> None:
    if sender._meta.label_lower in chained_models():
        chain_append(instance=history_instance, using=using or "default")


def on_record_saved(
    sender: type[models.Model],
    instance: models.Model,
    created: bool,
    raw: bool = False,
    using: str | None = None,
    **kwargs: Any,
) -> None:
    # Records are insert-only: only their creation is chained.
    if created and not raw:
        alias = using or "default"
        chain_append(instance=instance, using=alias)
        if chained_models()[sender._meta.label_lower].publishes:
            # Outsiders get a signed checkpoint covering each publication once it commits.
            transaction.on_commit(partial(checkpoint_after_publication, using=alias), using=alias)


def before_chained_write(
    sender: type[models.Model], using: str | None = None, raw: bool = False, **kwargs: Any
) -> None:
    # Lock the head before the write locks its own row (see chain_lock).
    if not raw:
        chain_lock(using=using or "default")


def connect() -> None:
    post_create_historical_record.connect(on_history_row, dispatch_uid=DISPATCH_UID)
    for chained in chained_models().values():
        uid = f"{DISPATCH_UID}.{chained.label}"
        if chained.is_history:
            # Saving or deleting a content row writes a history row.
            pre_save.connect(before_chained_write, sender=chained.content_model, dispatch_uid=f"{uid}.lock")
            pre_delete.connect(before_chained_write, sender=chained.content_model, dispatch_uid=f"{uid}.lock-delete")
        else:
            pre_save.connect(before_chained_write, sender=chained.model, dispatch_uid=f"{uid}.lock")
            post_save.connect(on_record_saved, sender=chained.model, dispatch_uid=uid)
