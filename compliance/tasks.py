"""Background work of the compliance app (Django Tasks API).

Nothing is needed for a scheduled publication to become visible: the public
page always renders the highest version in effect. This task exists for what
must *happen* at go-live: it announces the publication to other apps
(`events.PublicationLive`).

The task is enqueued in the approval's own transaction, so it is neither lost
nor run for an approval that was rolled back: it is also the safety net of
work other apps start on `PublicationApproved` (subscriber notices).
"""

from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from .events import PublicationLive, publication_live
from .models import Publication
from .static_export import export_static_site

GO_LIVE_SENT = "announced"
GO_LIVE_EARLY = "early"
GO_LIVE_SUPERSEDED = "superseded"


@task()
def publication_go_live(publication_id: int) -> str:
    """Send `PublicationLive` for a publication whose moment has come.

    Enqueued by the approval in the same transaction as the publication, with
    `run_after=effective_at`. Returns what it did (kept in the task result).
    """
    publication = Publication.objects.get(pk=publication_id)
    if publication.effective_at > timezone.now():
        # Run before its moment (a manual run, or clocks apart): come back then.
        publication_go_live.using(run_after=publication.effective_at).enqueue(publication_id)
        return GO_LIVE_EARLY
    overtaken = Publication.objects.filter(
        version__gt=publication.version, effective_at__lte=publication.effective_at
    ).exists()
    if overtaken:
        # A higher version took effect first: this one was never shown.
        return GO_LIVE_SUPERSEDED
    # The publication committed before this task could run, and the worker runs
    # tasks outside any transaction: the event is sent after commit, now.
    publication_live.send_now(PublicationLive(publication_id=publication.pk, version=publication.version))
    return GO_LIVE_SENT


EXPORT_OFF = "off"


@task()
def static_site_export() -> str:
    """Rewrite the static export (`STATIC_EXPORT_DIR`) from the live publication.

    Enqueued when a publication goes live. Idempotent: it renders whatever is
    live when it runs, so a repeated or late run leaves the same site.
    """
    target = settings.STATIC_EXPORT_DIR
    if not target:
        return EXPORT_OFF
    return str(export_static_site(Path(target), keep=settings.STATIC_EXPORT_KEEP))
