"""Which document file a link may serve: only what the live publication lists."""

from typing import Any

from django.db.models.fields.files import FieldFile

from compliance.models import Document
from compliance.selectors import live_publication


def live_listing(slug: str) -> dict[str, Any] | None:
    """The document's entry in the publication in effect now, or None. One query."""
    publication = live_publication()
    if publication is None:
        return None
    for entry in publication.snapshot.get("documents") or []:
        if entry.get("slug") == slug:
            return entry
    return None


def listed_file(entry: dict[str, Any]) -> FieldFile | None:
    """The file the listing names by its hash: the current upload, or an earlier
    one kept in the document's history when the draft has a newer file since."""
    slug, sha256 = entry.get("slug"), entry.get("sha256")
    if not sha256:
        return None
    document = Document.objects.filter(slug=slug).first()
    if document is not None and document.sha256 == sha256 and document.file:
        return document.file
    earlier = Document.history.filter(slug=slug, sha256=sha256).exclude(file="").order_by("-history_date").first()
    return earlier.file if earlier is not None else None
