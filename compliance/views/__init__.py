"""Public views of the trust page, and the staff preview of the draft.

The machine-readable formats (security.txt, trust.json, feed) are in
`compliance.views.formats`.

Public pages render a frozen `Publication` snapshot, never the draft rows.
Which version is live comes from `compliance.live.live_state()`, a memo at
most a second old (and never past a scheduled go-live moment); each body is
rendered once per version into the shared cache, under the key that is also
its ETag (`compliance.live.public_fingerprint`). A warm request runs no query:
a 304 when the reader holds the version, else the cached bytes. The footer
shows the chain head sealed into the version shown (its own link), so a draft
edit changes no public cache; the live head is at `/evidence/head`, the live
signed head at `/evidence/checkpoint` and in trust.json.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache as html_cache
from django.core.exceptions import PermissionDenied
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from core.http import no_store
from evidence.selectors import Head, chain_head, sealed_head

from ..diff import snapshot_diff
from ..live import CHANGELOG, PAGE, LiveState, live_state, public_fingerprint, render_revision
from ..models import Publication, PublicationRequest
from ..selectors import (
    PAGE_UPDATES,
    AsOf,
    as_of_slug,
    draft_comparison,
    live_publication,
    parse_as_of,
    publication_at,
    publication_changelog,
    published_organization_of,
    published_updates,
    updates_state,
)

PAGE_TEMPLATE = "compliance/page.html"
# Rendered bodies are keyed by what they show (`public_fingerprint`), so they
# never go stale; the timeout only bounds how long old versions (and as-of
# pages) occupy the cache.
HTML_CACHE_SECONDS = 24 * 3600
HTML = "text/html; charset=utf-8"
# The bodies this process served last, by tag, in front of the shared cache (a
# round trip less per request). A tag names exactly what its body shows (the
# version, the templates, the settings, the checkpoint), so an entry is never
# stale: a new version is a new tag. Emptied when full.
LOCAL_BODIES = 64
_bodies: dict[str, bytes] = {}


def cache_headers(response: HttpResponse, etag: str, last_modified: datetime | None, public: bool) -> HttpResponse:
    response.headers["ETag"] = etag
    if last_modified is not None:
        response.headers["Last-Modified"] = http_date(last_modified.timestamp())
    if public:
        patch_cache_control(response, public=True, max_age=settings.PUBLIC_CACHE_MAX_AGE)
    else:
        patch_cache_control(response, private=True, no_cache=True)
    return response


class Unservable(Exception):
    """Raised by a body's `build` when the version cannot be served in that
    form (security.txt without a contact): `response` says so, uncached."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__()
        self.response = response


def cached_body_response(
    request: HttpRequest,
    *,
    tag: str,
    build: Callable[[], str],
    content_type: str = HTML,
    last_modified: datetime | None = None,
    public: bool = True,
) -> HttpResponse:
    """304 when the reader holds `tag`; else the body `build` renders, kept in
    the shared cache under `tag` (so it is rendered once, on one server)."""
    etag = f'"{tag}"'
    response = get_conditional_response(
        request, etag=etag, last_modified=int(last_modified.timestamp()) if last_modified is not None else None
    )
    if response is None:
        body = _bodies.get(tag)
        if body is None:
            key = f"compliance:public:{tag}"
            body = html_cache.get(key)
            if body is None:
                try:
                    body = build().encode()
                except Unservable as refused:
                    return refused.response
                html_cache.set(key, body, HTML_CACHE_SECONDS)
            if len(_bodies) >= LOCAL_BODIES:
                _bodies.clear()
            _bodies[tag] = body
        response = HttpResponse(body, content_type=content_type)
    return cache_headers(response, etag, last_modified, public)


def live_response(
    request: HttpRequest,
    *,
    kind: str,
    build: Callable[[LiveState], str],
    not_published: Callable[[], HttpResponse],
    content_type: str = HTML,
    dated: bool = True,
    extra_headers: Callable[[], dict[str, str]] | None = None,
) -> HttpResponse:
    """A public body of the live version: no query while the live-version memo
    is fresh and the body is in the shared cache. `dated`: Last-Modified is
    when the version took effect. `extra_headers`: what a 200 or 304 carries
    besides the cache headers (the same for every request).

    The warm path serves from `_ready`: for the state the memo holds, the ETag
    and headers computed once. It answers only a plain GET/HEAD or one whose
    single precondition is If-None-Match with exactly that ETag; any other
    precondition takes the general path (`cached_body_response`)."""
    state = live_state()
    if state is None:
        return not_published()
    ready = _ready.get((kind, content_type, dated))
    if ready is not None and ready.state is state:
        quick = ready.answer(request)
        if quick is not None:
            return quick
    tag = public_fingerprint(state, kind)
    last_modified = state.modified_at if dated else None
    response = cached_body_response(
        request,
        tag=tag,
        build=lambda: build(state),
        content_type=content_type,
        last_modified=last_modified,
    )
    if response.status_code not in (200, 304):
        return response
    extra = extra_headers() if extra_headers is not None else {}
    for name, value in extra.items():
        response.headers[name] = value
    body = _bodies.get(tag)
    if body is not None:
        _ready[(kind, content_type, dated)] = _Ready.of(state, tag, body, content_type, last_modified, extra)
    return response


# Preconditions the warm path leaves to the general one.
_OTHER_PRECONDITIONS = ("HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_IF_MODIFIED_SINCE")


@dataclass(frozen=True)
class _Ready:
    """A live body with its headers, valid while `state` is the memo's state."""

    state: LiveState
    etag: str  # quoted
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def of(
        cls,
        state: LiveState,
        tag: str,
        body: bytes,
        content_type: str,
        last_modified: datetime | None,
        extra: dict[str, str],
    ) -> "_Ready":
        probe = cache_headers(HttpResponse(), f'"{tag}"', last_modified, public=True)
        names = ("ETag", "Last-Modified", "Cache-Control")
        headers = tuple((name, probe.headers[name]) for name in names if name in probe.headers) + tuple(extra.items())
        return cls(state=state, etag=f'"{tag}"', body=body, content_type=content_type, headers=headers)

    def answer(self, request: HttpRequest) -> HttpResponse | None:
        meta = request.META
        if any(name in meta for name in _OTHER_PRECONDITIONS):
            return None
        held = meta.get("HTTP_IF_NONE_MATCH")
        if held is None:
            response: HttpResponse = HttpResponse(self.body, content_type=self.content_type)
        elif held == self.etag:
            response = HttpResponseNotModified()
        else:
            return None
        for name, value in self.headers:
            response.headers[name] = value
        return response


_ready: dict[tuple[str, str, bool], _Ready] = {}


@receiver(setting_changed)
def _forget_ready(**kwargs: Any) -> None:
    """The headers and tags depend on settings (SITE_URL, cache max-age, keys)."""
    _ready.clear()


def _fingerprint(publication: Publication, kind: str) -> str:
    """The tag of a past version's page (as-of): its row id and snapshot time
    identify it, also if a database is recreated behind a shared cache."""
    raw = ":".join([str(publication.pk), publication.snapshot_taken_at.isoformat(), render_revision(), kind])
    return f"v{publication.version}-{hashlib.sha256(raw.encode()).hexdigest()[:16]}"


def page_updates(at: datetime | None) -> list[Any]:
    """The newest updates a page shows, as published by `at` (none when `at` is None:
    nothing was published by then)."""
    return list(published_updates(at)[:PAGE_UPDATES]) if at is not None else []


def _page_context(
    publication: Publication, sealed: Head | None, *, updates_at: datetime | None, **extra: Any
) -> dict[str, Any]:
    # "Last updated" is when this version took effect: that is when the text
    # readers see last changed. The snapshot's content_updated_at only says
    # when a draft row was last edited, which may be days before approval.
    # The footer shows the chain head sealed into the version: it changes
    # only with a publication, and `verify_chain --expect-head` takes it.
    return {
        "snapshot": publication.snapshot,
        "publication": publication,
        "last_updated": publication.effective_at,
        "audit_head": sealed,
        "sealed_version": publication.version,
        # Updates are approved on their own; the page shows those published by the
        # moment its cache key names (`public_fingerprint`, `updates_state`).
        "updates": page_updates(updates_at),
        **extra,
    }


def _not_published(request: HttpRequest) -> HttpResponse:
    response = render(request, "compliance/not_published.html")
    patch_cache_control(response, no_cache=True)  # it must disappear as soon as v1 goes live
    return response


def live_publication_row(state: LiveState) -> Publication:
    """The whole row of the live version, snapshot included: only to render a body."""
    return Publication.objects.get(pk=state.publication_id)


@require_safe
def trust_page(request: HttpRequest) -> HttpResponse:
    """The public Security & Compliance page: the version in effect now."""

    def build(state: LiveState) -> str:
        context = _page_context(live_publication_row(state), state.sealed, updates_at=state.update_published_at)
        return render_to_string(PAGE_TEMPLATE, context, request)

    return live_response(request, kind=PAGE, build=build, not_published=lambda: _not_published(request))


@require_safe
def changelog(request: HttpRequest) -> HttpResponse:
    """Every version the public page has shown, with its date, summary and changes."""

    def build(state: LiveState) -> str:
        context = {
            "entries": publication_changelog(),
            "snapshot": {"organization": published_organization_of(state.publication_id)},
        }
        return render_to_string("compliance/changelog.html", context, request)

    return live_response(request, kind=CHANGELOG, build=build, not_published=lambda: _not_published(request))


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
    # Updates as published by then (for today: by now); the newest names the key.
    updates = updates_state(min(wanted.moment, timezone.now()))

    def build() -> str:
        sealed = sealed_head(model_label=Publication._meta.label_lower, row_pk=publication.pk)
        context = _page_context(publication, sealed, updates_at=updates.published_at, banner=banner)
        return render_to_string(PAGE_TEMPLATE, context, request)

    modified = publication.effective_at
    if updates.published_at is not None and updates.published_at > modified:
        modified = updates.published_at
    return cached_body_response(
        request,
        tag=_fingerprint(publication, f"as-of:{key}:{updates}"),
        build=build,
        last_modified=modified,
        public=settings.AS_OF_PUBLIC,
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
        "updates": page_updates(timezone.now()),
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
