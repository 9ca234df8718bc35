"""Public views of the trust page, and the staff preview of the draft.

The machine-readable formats (security.txt, trust.json, feed) are in
`compliance.views.formats`.

Public pages render a frozen `Publication` snapshot, never the draft rows. Each
costs one indexed query for the publication in effect, and the page and as-of
page one more for the audit chain head their footer shows. The rendered HTML
is cached by publication with a placeholder where the head goes, filled in on
each request: the head moves with every content edit, the version does not.
ETag and Last-Modified cover both, so browsers and CDNs revalidate with a 304
until either changes. Pages also show the published updates, which are
approved on their own: `public_cache_key` names the newest one in the key,
so publishing an update (or a correction) gives every public page a new key.
"""

import hashlib
from collections.abc import Callable
from datetime import datetime
from functools import cache, wraps
from typing import Any, cast

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache as html_cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from core.http import no_store
from evidence.selectors import Head, chain_head

from ..diff import snapshot_diff
from ..models import Publication, PublicationRequest
from ..selectors import (
    PAGE_UPDATES,
    AsOf,
    UpdatesState,
    as_of_slug,
    draft_comparison,
    live_publication,
    parse_as_of,
    publication_at,
    publication_changelog,
    published_updates,
    updates_state,
)

PAGE_TEMPLATE = "compliance/page.html"
CHAIN_HEAD_TEMPLATE = "compliance/_chain_head.html"
# Stands in the cached HTML where the footer's chain head goes. Content is
# always escaped, so no text from the page can produce this comment.
CHAIN_HEAD_SLOT = mark_safe("<!--audit-chain-head-->")
# Rendered HTML is keyed by publication, so it never goes stale; the timeout
# only bounds how long old versions (and as-of pages) occupy the cache.
HTML_CACHE_SECONDS = 24 * 3600


@cache
def _render_revision() -> str:
    """A fingerprint of the public templates: a deploy that changes how a
    version is rendered also changes its ETag, so caches do not keep old HTML."""
    templates = settings.BASE_DIR / "templates"
    digest = hashlib.sha256()
    for path in [templates / "base.html", *sorted((templates / "compliance").rglob("*.html"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _fingerprint(publication: Publication, *parts: str) -> str:
    # The row id and snapshot time make the tag unique even if a database is
    # recreated and version numbers start again at 1 behind a shared cache.
    raw = ":".join([str(publication.pk), publication.snapshot_taken_at.isoformat(), _render_revision(), *parts])
    return f"v{publication.version}-{hashlib.sha256(raw.encode()).hexdigest()[:16]}"


def public_cache_key(publication: Publication, kind: str, *, updates: UpdatesState) -> str:
    """The key of a public page's cached HTML and the base of its ETag: the
    one place that names everything the HTML depends on. The publication it
    renders (with the templates, `_fingerprint`), which page (`kind`, with the
    moment for as-of pages) and the newest update published by then. Anything
    new that a public page shows must be added here."""
    return _fingerprint(publication, kind, str(updates))


def _cached_response(
    request: HttpRequest,
    *,
    publication: Publication,
    kind: str,
    build: Callable[[], str],
    last_modified: datetime,
    public: bool = True,
    head: Head | None = None,
    fill: Callable[[str], str] | None = None,
    at: datetime | None = None,
) -> HttpResponse:
    """Answer 304 when the client holds this version (and head), else the HTML.

    The HTML from `build` is cached by `public_cache_key` (the version and the
    newest update published by `at`, default now); `fill`, when given, puts
    what changes between versions (the chain head) into it on each request.
    The head is part of the ETag and moves Last-Modified, so a reader holding
    the page with an older head gets the new one; so does a new update.
    """
    updates = updates_state(at)
    body_tag = public_cache_key(publication, kind, updates=updates)
    tag = _fingerprint(publication, kind, str(updates), str(head)) if head is not None else body_tag
    if updates.published_at is not None:
        last_modified = max(last_modified, updates.published_at)
    if head is not None and head.recorded_at is not None:
        last_modified = max(last_modified, head.recorded_at)
    etag = f'"{tag}"'
    response = get_conditional_response(
        request,
        etag=etag,
        last_modified=int(last_modified.timestamp()),
    )
    if response is None:
        # The cache holds only what `build` returned.
        html = cast(str, html_cache.get_or_set(f"compliance:html:{kind}:{body_tag}", build, HTML_CACHE_SECONDS))
        response = HttpResponse(fill(html) if fill is not None else html)
    response.headers["ETag"] = etag
    response.headers["Last-Modified"] = http_date(last_modified.timestamp())
    if public:
        patch_cache_control(response, public=True, max_age=settings.PUBLIC_CACHE_MAX_AGE)
    else:
        patch_cache_control(response, private=True, no_cache=True)
    return response


def _chain_head_filler(request: HttpRequest, head: Head | None, **context: Any) -> Callable[[str], str]:
    """Puts the footer's chain head into the cached HTML."""

    def fill(html: str) -> str:
        footer = render_to_string(CHAIN_HEAD_TEMPLATE, {"audit_head": head, **context}, request)
        return html.replace(CHAIN_HEAD_SLOT, footer, 1)

    return fill


def _page_context(publication: Publication, at: datetime | None = None, **extra: Any) -> dict[str, Any]:
    # "Last updated" is when this version took effect: that is when the text
    # readers see last changed. The snapshot's content_updated_at only says
    # when a draft row was last edited, which may be days before approval.
    return {
        "snapshot": publication.snapshot,
        "publication": publication,
        "last_updated": publication.effective_at,
        "audit_head_slot": CHAIN_HEAD_SLOT,
        "updates": list(published_updates(at)[:PAGE_UPDATES]),
        **extra,
    }


def _not_published(request: HttpRequest) -> HttpResponse:
    response = render(request, "compliance/not_published.html")
    patch_cache_control(response, no_cache=True)  # it must disappear as soon as v1 goes live
    return response


@require_safe
def trust_page(request: HttpRequest) -> HttpResponse:
    """The public Security & Compliance page: the version in effect now."""
    publication = live_publication()
    if publication is None:
        return _not_published(request)
    head = chain_head()
    return _cached_response(
        request,
        publication=publication,
        kind="page",
        last_modified=publication.effective_at,
        build=lambda: render_to_string(PAGE_TEMPLATE, _page_context(publication), request),
        head=head,
        fill=_chain_head_filler(request, head),
    )


@require_safe
def changelog(request: HttpRequest) -> HttpResponse:
    """Every version the public page has shown, with its date, summary and changes."""
    publication = live_publication()
    if publication is None:
        return _not_published(request)
    return _cached_response(
        request,
        publication=publication,
        kind="changelog",
        last_modified=publication.effective_at,
        build=lambda: render_to_string(
            "compliance/changelog.html",
            {"entries": publication_changelog(), "snapshot": publication.snapshot},
            request,
        ),
    )


def as_of_gate(request: HttpRequest) -> HttpResponse | None:
    """When past versions are staff-only (AS_OF_PUBLIC off), anyone else is sent
    to the sign-in. The user (and so the session) is looked at only then."""
    if not settings.AS_OF_PUBLIC and not admin.site.has_permission(request):
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    return None


def as_of_resolve(text: str) -> tuple[AsOf, Publication] | tuple[str, int]:
    """The moment `text` names and the publication the page showed then; or
    (the refusal's message, its status) for a malformed, future or too early one."""
    try:
        wanted = parse_as_of(text)
    except ValueError:
        return (
            f"“{text}” is not a date or a moment. Write it as year-month-day, for example 2026-06-01, "
            "or as an ISO 8601 moment, for example 2026-06-01T14:30:00Z.",
            400,
        )
    if wanted.day is not None and wanted.day > timezone.localdate():
        return "That date is in the future: the page of that day is not known yet.", 404
    if wanted.day is None and wanted.moment > timezone.now():
        return "That moment is in the future: the page of that moment is not known yet.", 404
    publication = publication_at(wanted.moment)
    if publication is None:
        when = (
            dateformat.format(wanted.day, "j F Y")
            if wanted.day is not None
            else dateformat.format(timezone.localtime(wanted.moment), "j F Y, H:i:s T")
        )
        return f"The page was not yet published on {when}.", 404
    return wanted, publication


@require_safe
def as_of(request: HttpRequest, moment: str) -> HttpResponse:
    """The public page exactly as it stood at a moment, or at the end of a day
    (site time zone)."""
    refused = as_of_gate(request)
    if refused is not None:
        return refused
    resolved = as_of_resolve(moment)
    if isinstance(resolved[0], str):
        return render(request, "compliance/as_of_error.html", {"message": resolved[0]}, status=resolved[1])
    wanted, publication = resolved
    banner = {"kind": "as_of", "day": wanted.day, "moment": wanted.moment}
    key = wanted.day.isoformat() if wanted.day is not None else as_of_slug(wanted.moment)
    # Updates as published by then (for today: by now).
    shown_at = min(wanted.moment, timezone.now())
    # The footer shows the head as it is now, labelled so: it is what a reader
    # of this page can check later, and it covers the version shown (chained
    # before it). The version's own link is in the audit log.
    head = chain_head()
    return _cached_response(
        request,
        publication=publication,
        kind=f"as-of:{key}",
        last_modified=publication.effective_at,
        public=settings.AS_OF_PUBLIC,
        at=shown_at,
        build=lambda: render_to_string(PAGE_TEMPLATE, _page_context(publication, at=shown_at, banner=banner), request),
        head=head,
        fill=_chain_head_filler(request, head, as_of_day=wanted.day or timezone.localdate(wanted.moment)),
    )


def staff_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A staff-only page outside the admin, behind the admin site's own gate:
    active staff, and the verified second factor wherever the admin needs it
    (ADMIN_MFA_REQUIRED); anyone else is sent to the admin sign-in."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return admin.site.admin_view(view)(request, *args, **kwargs)

    return wrapped


@no_store
@staff_view
def preview(request: HttpRequest) -> HttpResponse:
    """The draft, rendered as it would go live, with what would change."""
    if not request.user.has_perm("compliance.preview_draft"):
        raise PermissionDenied("You may not preview the draft.")
    comparison = draft_comparison()
    banner = {"kind": "draft", "changes": comparison.changes, "live": comparison.live}
    # Were it approved now, it would take effect now: the footer shows that.
    context = {
        "snapshot": comparison.draft,
        "last_updated": timezone.now(),
        "updates": list(published_updates()[:PAGE_UPDATES]),
        "banner": banner,
        "audit_head": chain_head(),
    }
    return render(request, PAGE_TEMPLATE, context)


@no_store
@staff_view
def preview_request(request: HttpRequest, pk: int) -> HttpResponse:
    """The snapshot a publication request froze, exactly as approval would publish it."""
    if not request.user.has_perm("compliance.preview_draft"):
        raise PermissionDenied("You may not preview the draft.")
    pub_request = get_object_or_404(PublicationRequest.objects.exclude(snapshot=None), pk=pk)
    live = live_publication()
    changes = snapshot_diff(live.snapshot if live else None, pub_request.snapshot)
    banner = {"kind": "request", "changes": changes, "live": live, "request": pub_request}
    context = {
        "snapshot": pub_request.snapshot,
        "last_updated": pub_request.snapshot_taken_at,
        "banner": banner,
        "audit_head": chain_head(),
    }
    return render(request, PAGE_TEMPLATE, context)
