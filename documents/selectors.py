"""Which document file a link may serve: only what the live publication lists."""

from typing import Any

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


def listed_file_name(entry: dict[str, Any]) -> str | None:
    """The stored name of the file the listing names by its hash: the current
    upload, or an earlier one kept in the document's history when the draft has
    a newer file since (files are never overwritten)."""
    slug, sha256 = entry.get("slug"), entry.get("sha256")
    if not sha256:
        return None
    document = Document.objects.filter(slug=slug).only("file", "sha256").first()
    if document is not None and document.sha256 == sha256 and document.file:
        return document.file.name
    earlier = (
        Document.history.filter(slug=slug, sha256=sha256)
        .exclude(file="")
        .order_by("-history_date")
        .values_list("file", flat=True)
        .first()
    )
    return str(earlier) if earlier else None
