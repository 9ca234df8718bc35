"""Background work of the compliance app (Django Tasks API).

Nothing is needed for a scheduled publication to become visible: the public
page always renders the highest version in effect. This task exists for what
must *happen* at go-live: it announces the publication to other apps.
"""

from django.utils import timezone
from django_tasks import task

from .models import Publication
from .signals import publication_live

GO_LIVE_SENT = "announced"
GO_LIVE_EARLY = "early"
GO_LIVE_SUPERSEDED = "superseded"


@task()
def publication_go_live(publication_id: int) -> str:
    """Send `publication_live` for a publication whose moment has come.

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
    publication_live.send(sender=Publication, publication=publication)
    return GO_LIVE_SENT
