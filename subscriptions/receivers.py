"""How subscriptions learns of publications, without compliance importing it.

Notices go out when a publication is approved, so that subscribers hear of a
new subprocessor before it takes effect when the publication is scheduled: the
creation of a Publication row (approval) enqueues `send_publication_notices`
in the approval's own transaction (the task row is written with it, so it is
neither lost nor run for an approval that was rolled back). The worker writes
the notices afterwards, outside the approval, so a slow mail template or many
subscribers never hold up or fail an approval.

`publication_live` (sent at go-live) runs the same, idempotent service as a
safety net: subscribers who confirmed between approval and go-live, or a task
that failed, are served then.
"""

import logging
from typing import Any

from django.db.models.signals import post_save

from compliance.models import Publication
from compliance.signals import publication_live

logger = logging.getLogger(__name__)


def _on_publication_created(sender: type, instance: Publication, created: bool, **kwargs: Any) -> None:
    if not created or kwargs.get("raw"):
        return
    from .tasks import send_publication_notices

    # Keyword arguments: the go-live task of compliance is the one enqueued
    # with the publication id as positional argument.
    send_publication_notices.enqueue(publication_id=instance.pk)


def _on_publication_live(sender: type, publication: Publication, **kwargs: Any) -> None:
    from .services import publication_notices_send

    # A safety net must not break the go-live announcement for other receivers.
    try:
        publication_notices_send(publication_id=publication.pk)
    except Exception:
        logger.exception("Notices of publication id=%s could not be written at go-live", publication.pk)


def connect() -> None:
    post_save.connect(_on_publication_created, sender=Publication, dispatch_uid="subscriptions.publication_created")
    publication_live.connect(_on_publication_live, dispatch_uid="subscriptions.publication_live")
