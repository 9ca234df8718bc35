"""What compliance does itself when a publication goes live.

`PublicationLive` (sent by the go-live task at the publication's moment):
when `STATIC_EXPORT_DIR` is set, `on_publication_live` enqueues
`tasks.static_site_export`, which rewrites the static export from whatever
is live when it runs. A failed export leaves the previous one served; the
next publication, or `manage.py export_static_site`, writes it again.
"""

from django.conf import settings

from .events import PublicationLive, publication_live
from .tasks import static_site_export


def on_publication_live(event: PublicationLive) -> None:
    if settings.STATIC_EXPORT_DIR:
        static_site_export.enqueue()


def connect() -> None:
    publication_live.connect(on_publication_live, dispatch_uid="compliance.static_export")
