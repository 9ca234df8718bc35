"""`/updates/` and `/updates/<slug>/`: the published updates, each as a
second person approved it. An update that was never approved is not found.
Cached like the page (`compliance.views._cached_response`)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from ..selectors import live_publication, published_update, published_updates
from . import _cached_response, _not_published


@require_safe
def updates_list(request: HttpRequest) -> HttpResponse:
    """Every published update, newest first."""
    publication = live_publication()
    if publication is None:
        return _not_published(request)
    return _cached_response(
        request,
        publication=publication,
        kind="updates",
        last_modified=publication.effective_at,
        build=lambda: render_to_string(
            "compliance/updates.html",
            {"snapshot": publication.snapshot, "updates": list(published_updates())},
            request,
        ),
    )


@require_safe
def update_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One published update, in the text of its newest approved revision."""
    publication = live_publication()
    update = published_update(slug)
    if publication is None or update is None:
        raise Http404("No such update.")
    return _cached_response(
        request,
        publication=publication,
        kind=f"update:{update.pk}",
        last_modified=max(publication.effective_at, update.published_at),
        build=lambda: render_to_string(
            "compliance/update.html", {"snapshot": publication.snapshot, "update": update}, request
        ),
    )
