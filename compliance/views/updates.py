"""`/updates/` and `/updates/<slug>/`: the published updates, each as a
second person approved it. An update that was never approved is not found.
Cached like the page: keyed by the live version and the newest published
update (`compliance.live.public_fingerprint`)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from ..live import UPDATES, LiveState, live_state, public_fingerprint
from ..selectors import published_update, published_updates
from . import _not_published, cached_body_response, live_publication_row, live_response


@require_safe
def updates_list(request: HttpRequest) -> HttpResponse:
    """Every published update, newest first."""

    def build(state: LiveState) -> str:
        shown = list(published_updates(state.update_published_at)) if state.update_published_at else []
        context = {"snapshot": live_publication_row(state).snapshot, "updates": shown}
        return render_to_string("compliance/updates.html", context, request)

    return live_response(request, kind=UPDATES, build=build, not_published=lambda: _not_published(request))


@require_safe
def update_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One published update, in the text of its newest approved revision."""
    state = live_state()
    update = published_update(slug)
    if state is None or update is None:
        raise Http404("No such update.")
    modified = max(state.effective_at, update.published_at)
    return cached_body_response(
        request,
        # The revision shown is in the key: a correction is a new body.
        tag=public_fingerprint(state, f"update:{update.pk}"),
        build=lambda: render_to_string(
            "compliance/update.html",
            {"snapshot": live_publication_row(state).snapshot, "update": update},
            request,
        ),
        last_modified=modified,
    )
