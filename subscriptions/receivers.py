"""How subscriptions learns of publications, without compliance importing it.

Notices go out when a publication is approved, so that subscribers hear of a
new subprocessor before it takes effect when the publication is scheduled:

1. `compliance.services.publication_approve` sends `PublicationApproved` after
   the approval commits; `on_publication_approved` enqueues the task
   `send_publication_notices`. The worker writes the notices, outside the
   approval, so a slow mail template or many subscribers never hold up or
   fail an approval.
2. At the publication's moment the go-live task (enqueued in the approval's own
   transaction, so never lost) sends `PublicationLive`; `on_publication_live`
   runs the same idempotent service. This is the re-drive: if enqueuing in
   step 1 failed (the approval had committed already) or the task failed,
   the notices are written at go-live at the latest; subscribers who confirmed
   between approval and go-live are served then too.

A failure in either receiver is logged by `core.events` and does not affect
the approval or the other receivers.

`UpdatePublished` (an update approved, or corrected): `on_update_published`
enqueues `send_update_notices`, which mails the update to each confirmed
subscriber of its category once (an `UpdateNotice` per pair, unique), so a
re-driven event or a correction of the update mails nobody twice.

`RetentionDue` (each retention run): subscriber addresses past retention go
(`retention.subscribers_purge`); the next run redoes a failed one.
"""

from compliance.events import (
    PublicationApproved,
    PublicationLive,
    UpdatePublished,
    publication_approved,
    publication_live,
    update_published,
)
from requests_app.events import RetentionDue, retention_due

from .retention import subscribers_purge
from .services import publication_notices_send
from .tasks import send_publication_notices, send_update_notices


def on_publication_approved(event: PublicationApproved) -> None:
    send_publication_notices.enqueue(publication_id=event.publication_id)


def on_publication_live(event: PublicationLive) -> None:
    publication_notices_send(publication_id=event.publication_id)


def on_update_published(event: UpdatePublished) -> None:
    send_update_notices.enqueue(update_id=event.update_id)


def on_retention_due(event: RetentionDue) -> None:
    event.counts["subscribers"] = subscribers_purge(now=event.now)


def connect() -> None:
    publication_approved.connect(on_publication_approved, dispatch_uid="subscriptions.publication_approved")
    publication_live.connect(on_publication_live, dispatch_uid="subscriptions.publication_live")
    update_published.connect(on_update_published, dispatch_uid="subscriptions.update_published")
    retention_due.connect(on_retention_due, dispatch_uid="subscriptions.retention_due")
