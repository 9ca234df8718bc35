"""Signed checkpoints of the transparency log.

`checkpoint_sign` signs the tree as it stands at the chain head: a C2SP
tlog-checkpoint note (origin, tree size, base64 root, and a `time` line with
the signing time), kept as a `Checkpoint` row and, after commit, appended to
`EVIDENCE_CHECKPOINT_FILE` outside the database. A checkpoint is signed after
every publication commits (`evidence.receivers`), by the periodic job when
anything was chained since the last one (`evidence.periodic`), and on demand
(`manage.py evidence_checkpoint`).
"""

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone

from . import tlog
from .enums import CheckpointReason
from .models import HEAD_ID, ChainHead, Checkpoint
from .signing import current_signer, signing_key_register
from .tlog_store import tree_root, tree_size, tree_sync

logger = logging.getLogger(__name__)


def checkpoint_file_append(note: str, path: Path | str | None = None) -> None:
    """Append one note to the checkpoint file, followed by a blank line, and fsync it.

    The file is opened append-only: earlier records are never rewritten.
    """
    target = Path(path or settings.EVIDENCE_CHECKPOINT_FILE)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (note + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def checkpoint_sign(*, reason: str, using: str = DEFAULT_DB_ALIAS, now: datetime | None = None) -> Checkpoint:
    """Sign a checkpoint of the whole chain as it stands now.

    Side effects: the tree catches up with the chain if it lags; the signing
    key is recorded on its first use (closing the previous key's period); one
    Checkpoint row; after commit, the note is appended to the checkpoint file.
    Raises `SigningKeyRefused` for a revoked or replaced key and
    ImproperlyConfigured without a key.
    """
    if reason not in CheckpointReason.values:
        raise ValueError(f"Unknown checkpoint reason {reason!r}")
    signer = current_signer()
    with transaction.atomic(using=using):
        head = ChainHead.objects.using(using).select_for_update().filter(pk=HEAD_ID).first()
        size = head.seq if head is not None else 0
        if tree_size(using) < size:
            tree_sync(using=using)
        root = tree_root(size, using)
        signed_at = (now or timezone.now()).replace(microsecond=0)
        key = signing_key_register(signer, at=signed_at, using=using)
        note = tlog.note_sign(tlog.checkpoint_text(settings.EVIDENCE_LOG_ORIGIN, size, root, signed_at), signer)
        checkpoint = Checkpoint.objects.using(using).create(
            tree_size=size, root_hash=root.hex(), signed_at=signed_at, key=key, note=note, reason=reason
        )
        transaction.on_commit(lambda: checkpoint_file_append(note), using=using)
    return checkpoint


def checkpoint_after_publication(using: str = DEFAULT_DB_ALIAS) -> None:
    """Sign a checkpoint once a publication has committed; a failure is logged, not raised,
    because the publication itself stands (the periodic job covers it within the hour)."""
    try:
        checkpoint_sign(reason=CheckpointReason.PUBLICATION, using=using)
    except Exception:
        logger.exception("Could not sign the checkpoint after a publication")


def checkpoint_if_grown(*, using: str = DEFAULT_DB_ALIAS) -> dict[str, Any]:
    """The periodic job: sign a checkpoint when the chain grew since the last one."""
    head = ChainHead.objects.using(using).filter(pk=HEAD_ID).first()
    size = head.seq if head is not None else 0
    last = Checkpoint.objects.using(using).order_by("-tree_size", "-id").first()
    if size == 0 or (last is not None and last.tree_size >= size):
        return {"signed": None}
    checkpoint = checkpoint_sign(reason=CheckpointReason.PERIODIC, using=using)
    return {"signed": checkpoint.tree_size}
