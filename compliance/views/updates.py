"""`/updates/` and `/updates/<slug>/`: the published updates, each as a
second person approved it. An update that was never approved is not found.
Cached like the page: keyed by the live version and the newest published
update (`compliance.live.public_fingerprint`). A warm request runs no query:
which update each slug shows is remembered for the live state the memo holds
(a new update or a correction is a new state)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from ..live import UPDATES, LiveState, live_state, public_fingerprint
from ..models import UpdatePublication
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


# The update each slug showed under one live state; only found ones (a flood of
# made-up slugs costs a query each, as any not-found page does), at most SHOWN_SLUGS.
SHOWN_SLUGS = 256
_shown: tuple[LiveState | None, dict[str, UpdatePublication]] = (None, {})


def shown_update(state: LiveState, slug: str) -> UpdatePublication | None:
    """The published text at /updates/<slug>/ under `state`: no query when remembered."""
    global _shown
    held, found = _shown
    if held is not state:
        found = {}
        _shown = (state, found)
    update = found.get(slug)
    if update is None and state.update_published_at is not None:
        update = published_update(slug, at=state.update_published_at)
        if update is not None:
            if len(found) >= SHOWN_SLUGS:
                found.clear()
            found[slug] = update
    return update


@require_safe
def update_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One published update, in the text of its newest approved revision."""
    state = live_state()
    update = shown_update(state, slug) if state is not None else None
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
