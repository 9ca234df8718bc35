"""The machine-readable formats of the live publication: security.txt,
trust.json (and its schema) and the Atom feed.

Each renders the live publication through the pure functions in
`compliance.formats`, with the same caching as the page (`compliance.views`):
once per version into the shared cache, no query when warm.
"""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.feedgenerator import Atom1Feed
from django.utils.http import quote_etag
from django.views.decorators.http import require_http_methods, require_safe

from core.text import single_line, xml_text
from evidence.selectors import (
    Head,
    checkpoint_latest,
    checkpoint_notes_for_rows,
    checkpoint_public,
    sealed_head,
    signing_keys_public,
)

from .. import formats
from ..enums import UpdateCategory
from ..live import FEED, SECURITY_TXT, TRUST_JSON, LiveState
from ..markdown import markdown_to_html
from ..models import Publication, UpdatePublication
from ..selectors import ChangelogEntry, publication_changelog, published_organization_of, published_updates
from . import Unservable, as_of_gate, as_of_resolve, cache_headers, live_publication_row, live_response

# --- Machine-readable formats: security.txt, trust.json, Atom feed ----------
#
# Each renders the live publication through the pure functions in
# `compliance.formats`, once per version, into the shared cache
# (`compliance.views.live_response`: no query when warm). Before anything is published they answer
# 404 with a short explanation: serving the unpublished draft would show
# readers content nobody approved, and 404 (rather than 503) is what scanners
# and feed readers understand as "there is none yet" without retrying hard.


TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
# The newest entries the feed carries; older versions stay in the changelog.
FEED_MAX_ENTRIES = 50
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    # If-None-Match is not a CORS-safelisted request header; allow it so that
    # scripts on other sites can revalidate with the ETag, which they may read.
    "Access-Control-Allow-Headers": "If-None-Match",
    "Access-Control-Expose-Headers": "ETag",
    "Access-Control-Max-Age": "86400",
}


def _site(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _respond(
    request: HttpRequest,
    body: str,
    *,
    content_type: str,
    etag_prefix: str,
    last_modified: datetime | None = None,
    extra_headers: dict[str, str] | None = None,
    public: bool = True,
) -> HttpResponse:
    """A cacheable response: ETag over the exact body, 304 when the reader
    already holds it, and a short shared-cache lifetime like the page's
    (private, revalidated each time, when `public` is off: staff-only pages)."""
    etag = quote_etag(formats.body_etag(etag_prefix, body))
    response = get_conditional_response(
        request,
        etag=etag,
        last_modified=int(last_modified.timestamp()) if last_modified else None,
    ) or HttpResponse(body, content_type=content_type)
    cache_headers(response, etag, last_modified, public)
    for name, value in (extra_headers or {}).items():
        response.headers[name] = value
    return response


def _format_not_published(content_type: str, extra_headers: dict[str, str] | None = None) -> HttpResponse:
    message = "Nothing has been published yet."
    body = json.dumps({"error": "not_published", "detail": message}) if content_type == JSON else message + "\n"
    response = HttpResponse(body, content_type=content_type, status=404)
    # Not kept by caches: the first publication must show at once.
    patch_cache_control(response, no_cache=True)
    for name, value in (extra_headers or {}).items():
        response.headers[name] = value
    return response


@require_safe
def security_txt(request: HttpRequest) -> HttpResponse:
    """`/.well-known/security.txt` (RFC 9116) from the live publication."""

    def build(state: LiveState) -> str:
        body = _security_txt_body(live_publication_row(state))
        if body is None:
            raise Unservable(_no_security_contact())
        return body

    return live_response(
        request, kind=SECURITY_TXT, build=build, not_published=lambda: _format_not_published(TEXT), content_type=TEXT
    )


def _format_as_of(
    request: HttpRequest,
    moment: str,
    content_type: str,
    respond: Callable[..., HttpResponse],
) -> HttpResponse:
    """A format of the publication in effect at `moment` (`respond(request,
    publication, public=...)`), behind the as-of gate; a refusal in the format's
    own content type."""
    refused = as_of_gate(request)
    if refused is not None:
        return refused
    resolved = as_of_resolve(moment)
    if isinstance(resolved[0], str):
        message, status = resolved
        body = json.dumps({"error": "as_of", "detail": message}) if content_type == JSON else message + "\n"
        return HttpResponse(body, content_type=content_type, status=status)
    wanted, publication = resolved
    # Updates as published by then (for today: by now).
    return respond(request, publication, public=settings.AS_OF_PUBLIC, at=min(wanted.moment, timezone.now()))


@require_safe
def security_txt_as_of(request: HttpRequest, moment: str) -> HttpResponse:
    """`/as-of/<day or moment>/security.txt`: the file as the site served it then."""
    return _format_as_of(request, moment, TEXT, _security_txt_response)


def _security_txt_body(publication: Publication) -> str | None:
    """The file of a publication; None when it names no contact (the file would be invalid)."""
    try:
        return formats.security_txt(
            publication.snapshot,
            version=publication.version,
            effective_at=publication.effective_at,
            site_url=settings.SITE_URL,
            expires_days=settings.SECURITY_TXT_EXPIRES_DAYS,
            encryption_url=settings.SECURITY_TXT_ENCRYPTION_URL,
        )
    except ValueError:
        return None


def _no_security_contact() -> HttpResponse:
    response = HttpResponse("The published page names no security contact.\n", content_type=TEXT, status=404)
    patch_cache_control(response, no_cache=True)
    return response


def _security_txt_response(
    request: HttpRequest, publication: Publication, *, public: bool = True, at: datetime | None = None
) -> HttpResponse:
    body = _security_txt_body(publication)
    if body is None:
        return _no_security_contact()
    return _respond(
        request,
        body,
        content_type=TEXT,
        etag_prefix=f"security-v{publication.version}",
        last_modified=publication.effective_at,
        public=public,
    )


def security_txt_redirect(request: HttpRequest) -> HttpResponse:
    """Older scanners look at `/security.txt`; RFC 9116 allows a redirect."""
    return HttpResponsePermanentRedirect(reverse("compliance:security-txt"))


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def trust_json(request: HttpRequest) -> HttpResponse:
    """`/trust.json`: the live publication's snapshot, readable from any origin."""
    if request.method == "OPTIONS":
        return _preflight()

    def build(state: LiveState) -> str:
        return _trust_json_body(
            live_publication_row(state), state.sealed, state.checkpoint_id, updates_at=state.update_published_at
        )

    return live_response(
        request,
        kind=TRUST_JSON,
        build=build,
        not_published=lambda: _format_not_published(JSON, CORS_HEADERS),
        content_type=JSON,
        dated=False,
        extra_headers=_trust_json_header_map,
    )


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def trust_json_as_of(request: HttpRequest, moment: str) -> HttpResponse:
    """`/as-of/<day or moment>/trust.json`: the publication in effect then, as trust.json."""
    if request.method == "OPTIONS":
        return _preflight()
    return _format_as_of(request, moment, JSON, _trust_json_response)


def _update_documents(at: datetime | None) -> list[dict[str, Any]]:
    """The updates published by `at` (none when `at` is None), as trust.json lists them."""
    if at is None:
        return []
    return [
        formats.update_document(
            update.content,
            revision=update.revision,
            first_published_at=update.first_published_at,
            published_at=update.published_at,
            url=_site(reverse("compliance:update", args=[update.content["slug"]])),
        )
        for update in published_updates(at)
    ]


def _trust_json_body(
    publication: Publication, sealed: Head | None, checkpoint_id: int | None, *, updates_at: datetime | None
) -> str:
    """trust.json of a publication: its `chain_head` is the head sealed into it
    (as the page footer shows it), `evidence_log.checkpoint` the live signed head,
    the newest checkpoint (`checkpoint_id`); the live unsigned head is at `head_url`;
    `updates` those published by `updates_at` (the newest one names the cache key)."""
    document = formats.trust_document(
        publication.snapshot,
        version=publication.version,
        effective_at=publication.effective_at,
        summary=publication.summary,
        chain_head=sealed.as_json() if sealed is not None else None,
        schema_url=_site(reverse("compliance:trust-schema")),
        evidence_log={
            "checkpoint_url": _site(reverse("evidence:checkpoint")),
            "head_url": _site(reverse("evidence:head")),
            "checkpoint": checkpoint_public(checkpoint_id),
            "signing_keys": signing_keys_public(),
        },
        updates=_update_documents(updates_at),
    )
    return formats.dump_json(document)


def _trust_json_header_map() -> dict[str, str]:
    """The headers of a trust.json answer (200 or 304) besides the cache headers."""
    return {**CORS_HEADERS, "Link": f'<{_site(reverse("compliance:trust-schema"))}>; rel="describedby"'}


def _trust_json_headers(response: HttpResponse) -> None:
    for name, value in _trust_json_header_map().items():
        response.headers[name] = value


def _trust_json_response(
    request: HttpRequest, publication: Publication, *, public: bool = True, at: datetime | None = None
) -> HttpResponse:
    """trust.json of `publication`, with the updates published by `at` (default now)."""
    latest = checkpoint_latest()
    sealed = sealed_head(model_label=Publication._meta.label_lower, row_pk=publication.pk)
    # No Last-Modified: the live signed head in it moves between publications.
    response = _respond(
        request,
        _trust_json_body(
            publication, sealed, latest.pk if latest is not None else None, updates_at=at or timezone.now()
        ),
        content_type=JSON,
        etag_prefix=f"trust-v{publication.version}",
        public=public,
    )
    _trust_json_headers(response)
    return response


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def trust_schema(request: HttpRequest) -> HttpResponse:
    """`/trust.schema.json`: the JSON Schema (draft 2020-12) of trust.json."""
    if request.method == "OPTIONS":
        return _preflight()
    schema = {"$id": _site(request.path), **formats.trust_schema()}
    return _respond(
        request,
        formats.dump_json(schema),
        content_type="application/schema+json",
        etag_prefix="trust-schema",
        extra_headers=CORS_HEADERS,
    )


def _preflight() -> HttpResponse:
    response = HttpResponse(status=204)
    for name, value in CORS_HEADERS.items():
        response.headers[name] = value
    return response


FeedItem = ChangelogEntry | UpdatePublication


def _item_moment(item: FeedItem) -> datetime:
    return item.publication.effective_at if isinstance(item, ChangelogEntry) else item.published_at


class PublicationFeed(Feed):
    """Atom feed of the versions the public page has shown and of the published
    updates (each revision of an update is one entry, with the update's
    address as its id), newest first. `updates_at`: the updates published by
    then (the newest names the cache key); None, none."""

    feed_type = Atom1Feed

    def __init__(self, updates_at: datetime | None = None) -> None:
        super().__init__()
        self.updates_at = updates_at

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> list[FeedItem]:
        entries = publication_changelog()[:FEED_MAX_ENTRIES]
        self.checkpoints = checkpoint_notes_for_rows(
            model_label=Publication._meta.label_lower, row_pks=[entry.publication.pk for entry in entries]
        )
        organization = published_organization_of(entries[0].publication.pk) if entries else {}
        self.organization_name = single_line(organization.get("name", "")) or "Trust center"
        updates = list(published_updates(self.updates_at)[:FEED_MAX_ENTRIES]) if self.updates_at is not None else []
        items: list[FeedItem] = [*entries, *updates]
        items.sort(key=_item_moment, reverse=True)
        return items[:FEED_MAX_ENTRIES]

    def _organization_name(self, items: list[FeedItem]) -> str:
        return self.organization_name

    def title(self, items: list[FeedItem]) -> str:
        return f"{self._organization_name(items)}: Security & Compliance changes"

    def subtitle(self, items: list[FeedItem]) -> str:
        return (
            "Each published version of the Security & Compliance page and what changed in it, and each update posted."
        )

    def author_name(self, items: list[FeedItem]) -> str:
        return self._organization_name(items)

    def link(self) -> str:
        return _site(reverse("compliance:changelog"))

    def feed_url(self) -> str:
        return _site(reverse("compliance:feed"))

    def items(self, items: list[FeedItem]) -> list[FeedItem]:
        return items

    def item_title(self, item: FeedItem) -> str:
        if isinstance(item, UpdatePublication):
            category = UpdateCategory(item.content["category"]).label
            return single_line(f"{category}: {item.content['title']}")
        return f"Version {item.publication.version}"

    def item_description(self, item: FeedItem) -> str:
        if isinstance(item, UpdatePublication):
            return str(markdown_to_html(xml_text(item.content["body"])))
        # Like the changelog: the first version is not listed as additions of every line.
        lines = [str(change) for change in item.changes] if item.previous else ["First publication of the page."]
        return formats.feed_entry_html(
            item.publication.summary, lines, checkpoint=self.checkpoints.get(item.publication.pk, "")
        )

    def item_link(self, item: FeedItem) -> str:
        if isinstance(item, UpdatePublication):
            return _site(reverse("compliance:update", args=[item.content["slug"]]))
        return _site(f"{reverse('compliance:changelog')}#v{item.publication.version}")

    def item_guid(self, item: FeedItem) -> str:
        if isinstance(item, UpdatePublication):
            return f"{self.item_link(item)}#revision-{item.revision}"
        return self.item_link(item)

    def item_pubdate(self, item: FeedItem) -> datetime:
        return item.first_published_at if isinstance(item, UpdatePublication) else item.publication.effective_at

    def item_updateddate(self, item: FeedItem) -> datetime:
        return _item_moment(item)


def _feed_body(request: HttpRequest, updates_at: datetime | None) -> str:
    feed_view = PublicationFeed(updates_at)
    items = feed_view.get_object(request)
    return feed_view.get_feed(items, request).writeString("utf-8")


@require_safe
def publication_feed(request: HttpRequest) -> HttpResponse:
    """`/feed.atom`: rendered once per version (and once more when the checkpoint
    holding the version is signed), then answered from the shared cache or with 304."""

    def empty() -> HttpResponse:
        response = HttpResponse(_feed_body(request, None), content_type=Atom1Feed.content_type)
        patch_cache_control(response, no_cache=True)  # the first publication must show at once
        return response

    return live_response(
        request,
        kind=FEED,
        build=lambda state: _feed_body(request, state.update_published_at),
        not_published=empty,
        content_type=Atom1Feed.content_type,
    )
