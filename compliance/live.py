"""Which publication is live, as every app server knows it, and the keys of the public caches.

The public page, trust.json, security.txt, the feed and the changelog are
rendered once per version into the shared cache (`CACHES`, Redis in
production) and answered from there. What each request must still know is
which version is live. `live_state()` answers that from a per-process memo
that is at most `LIVE_MEMO_SECONDS` old, and that also expires at the next
scheduled go-live moment: a scheduled version goes live at its time on every
server, with no request or worker having to pass first. A publication
approved on one server is thus served by every server within a second (at
once by the server that approved it: the service forgets the memo).

When the memo is fresh a public request runs no query at all: the ETag comes
from `public_fingerprint()` and the body from the shared cache.

`public_fingerprint()` is the one place the keys and ETags of the public
caches are built. A part of the page that can change between versions must be
read into `LiveState` (by `live_state_load`, in the one query of a refresh) and named there, for the kinds that show it.
"""

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.conf import settings
from django.db.models import Subquery
from django.utils import timezone

from evidence.selectors import Head, sealed_state_annotations

from .models import Publication, UpdatePublication

# How old the memo of the live version may be, in seconds.
LIVE_MEMO_SECONDS = 1.0
# The memo's clock (the test suite holds it still, so query counts do not depend on its speed).
monotonic = time.monotonic


@dataclass(frozen=True)
class LiveState:
    """What the public caches of the live version depend on. No snapshot: that
    is read only when a body is rendered, once per version."""

    publication_id: int
    version: int
    effective_at: datetime
    snapshot_taken_at: datetime
    # The version's own link of the evidence chain: the head sealed into it.
    sealed_seq: int | None
    sealed_hash: str | None
    # The first signed checkpoint holding that link (quoted by the feed).
    sealed_checkpoint_id: int | None
    # The newest signed checkpoint (the live signed head, in trust.json) and
    # the number of revoked signing keys (trust.json lists the keys).
    checkpoint_id: int | None
    revoked_keys: int
    # The newest published update (or correction) at the moment of the read:
    # the page, trust.json and the feed show the updates (approved on their own).
    update_publication_id: int | None = None
    update_published_at: datetime | None = None

    @property
    def modified_at(self) -> datetime:
        """When what the public sees last changed: the version or an update."""
        if self.update_published_at is not None and self.update_published_at > self.effective_at:
            return self.update_published_at
        return self.effective_at

    @property
    def sealed(self) -> Head | None:
        """The chain head sealed into the version, as the footer and trust.json show it."""
        if self.sealed_seq is None or self.sealed_hash is None:
            return None
        return Head(self.sealed_seq, self.sealed_hash)


@dataclass(frozen=True)
class _Memo:
    state: LiveState | None
    fresh_until: float  # time.monotonic()
    next_go_live: datetime | None  # the soonest scheduled version's moment


_memo: _Memo | None = None
_lock = threading.Lock()


def live_state() -> LiveState | None:
    """The live version (None before the first publication), at most
    `LIVE_MEMO_SECONDS` old, never past a scheduled go-live moment.
    No query while the memo is fresh; one (two before anything is live) otherwise."""
    global _memo
    memo = _memo
    if (
        memo is not None
        and monotonic() < memo.fresh_until
        and (memo.next_go_live is None or timezone.now() < memo.next_go_live)
    ):
        return memo.state
    with _lock:
        started = monotonic()
        now = timezone.now()
        state, next_go_live = live_state_load(now)
        _memo = _Memo(state=state, fresh_until=started + LIVE_MEMO_SECONDS, next_go_live=next_go_live)
    return state


def live_state_load(now: datetime) -> tuple[LiveState | None, datetime | None]:
    """The live version at `now` and the soonest moment a scheduled version goes
    live (None when none is scheduled). One query; two before anything is live."""
    scheduled = Publication.objects.filter(effective_at__gt=now).order_by("effective_at").values("effective_at")
    newest_update = UpdatePublication.objects.filter(published_at__lte=now).order_by("-published_at", "-pk")
    row = (
        Publication.objects.live(now)
        .annotate(
            next_go_live=Subquery(scheduled[:1]),
            update_publication_id=Subquery(newest_update.values("pk")[:1]),
            update_published_at=Subquery(newest_update.values("published_at")[:1]),
            **sealed_state_annotations(Publication._meta.label_lower),
        )
        .values(
            "pk",
            "version",
            "effective_at",
            "snapshot_taken_at",
            "next_go_live",
            "sealed_seq",
            "sealed_hash",
            "sealed_checkpoint_id",
            "checkpoint_id",
            "revoked_keys",
            "update_publication_id",
            "update_published_at",
        )
        .first()
    )
    if row is None:
        return None, scheduled.values_list("effective_at", flat=True).first()
    next_go_live = row.pop("next_go_live")
    return LiveState(publication_id=row.pop("pk"), **row), next_go_live


def live_state_forget() -> None:
    """Read the live version again on the next request: a publication was just
    approved in this process."""
    global _memo
    _memo = None


@cache
def render_revision() -> str:
    """A fingerprint of the public templates: a deploy that changes how a
    version is rendered also changes its ETag and cache key, so neither
    browsers nor the shared cache keep old bytes."""
    templates = settings.BASE_DIR / "templates"
    digest = hashlib.sha256()
    for path in [templates / "base.html", *sorted((templates / "compliance").rglob("*.html"))]:
        digest.update(path.read_bytes())
    digest.update((settings.BASE_DIR / "compliance" / "schema" / "trust.schema.json").read_bytes())
    return digest.hexdigest()[:12]


# What each public body shows besides the version itself (by `kind`).
PAGE = "page"
CHANGELOG = "changelog"
SECURITY_TXT = "security.txt"
TRUST_JSON = "trust.json"
FEED = "feed"
UPDATES = "updates"
# What the ETag of each kind starts with, before `v<version>-`.
ETAG_PREFIXES = {SECURITY_TXT: "security-", TRUST_JSON: "trust-", FEED: "feed-"}


def public_fingerprint(state: LiveState, kind: str) -> str:
    """The ETag (unquoted) and cache key of the `kind` body of the live version.

    It changes exactly when that body can: with the version (its row id and
    snapshot time, unique even if a database is recreated behind a shared
    cache), the templates and the settings the body shows, and per kind what
    else it shows: trust.json the live signed checkpoint and the keys, the feed
    the checkpoint holding the version; the page, trust.json and the feed the
    newest published update (so do /updates/ and each update's page). A draft
    edit changes none of them.
    """
    parts: list[object] = [
        kind,
        state.publication_id,
        state.snapshot_taken_at.isoformat(),
        state.sealed_hash,
        render_revision(),
        settings.SITE_URL,
    ]
    if kind in (PAGE, TRUST_JSON, FEED, UPDATES):
        parts += [state.update_publication_id]
    if kind == SECURITY_TXT:
        parts += [settings.SECURITY_TXT_EXPIRES_DAYS, settings.SECURITY_TXT_ENCRYPTION_URL]
    elif kind == TRUST_JSON:
        # The keys it lists are the configured ones, with configured revocations.
        parts += [
            state.checkpoint_id,
            state.revoked_keys,
            sorted(settings.EVIDENCE_TRUSTED_KEYS),
            sorted(settings.EVIDENCE_REVOKED_KEYS),
        ]
    elif kind == FEED:
        parts += [state.sealed_checkpoint_id]
    raw = "\x1f".join(str(part) for part in parts)
    return f"{ETAG_PREFIXES.get(kind, '')}v{state.version}-{hashlib.sha256(raw.encode()).hexdigest()[:16]}"
