"""Reads of publications and updates shared by the public views, the admin and services."""

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from django.core.cache import cache as shared_cache
from django.db.models import F, Model, OuterRef, QuerySet, Subquery
from django.utils import timezone

from core.dates import end_of_day, local_zone

from .diff import Change, snapshot_diff
from .models import (
    CONTENT_MODELS,
    Certification,
    ContactRoute,
    Control,
    DataHandlingRow,
    Document,
    GdprFact,
    Publication,
    Section,
    Subprocessor,
    Update,
    UpdatePublication,
)
from .snapshot import Snapshot, build_snapshot


def live_publication(now: datetime | None = None) -> Publication | None:
    """The publication the public sees at `now` (default: the present). One query."""
    return Publication.objects.live(now).first()


# What the public layout shows before anything is published: no name, so the
# header falls back to a neutral "Trust center".
UNPUBLISHED_ORGANIZATION: dict[str, Any] = {"name": "", "security_email": ""}


def published_organization(now: datetime | None = None) -> dict[str, Any]:
    """The organization part of the live snapshot (name, contacts, ...), or
    `UNPUBLISHED_ORGANIZATION`. One query that reads only that part of the
    snapshot, not the whole page."""
    organization = Publication.objects.live(now).values_list("snapshot__organization", flat=True).first()
    if not isinstance(organization, dict):
        return dict(UNPUBLISHED_ORGANIZATION)
    return organization


def published_organization_of(publication_id: int) -> dict[str, Any]:
    """The organization part of one publication's snapshot. One query that
    reads only that part."""
    organization = (
        Publication.objects.filter(pk=publication_id).values_list("snapshot__organization", flat=True).first()
    )
    return organization if isinstance(organization, dict) else dict(UNPUBLISHED_ORGANIZATION)


def latest_publication() -> Publication | None:
    """The highest version, whether in effect or still scheduled."""
    return Publication.objects.order_by("-version").first()


def scheduled_publications(now: datetime | None = None) -> list[Publication]:
    """Versions approved for a future moment, soonest first."""
    now = now if now is not None else timezone.now()
    return list(Publication.objects.filter(effective_at__gt=now).order_by("effective_at", "version"))


# "2026-06-01" (a day) or "2026-06-01T14:30", "…T14:30:05", "…T14:30:05.123456",
# each with an optional "Z" or "+02:00"; without a zone, the site's time zone.
_DAY = r"\d{4}-\d{2}-\d{2}"
_MOMENT_RE = re.compile(
    rf"^(?P<day>{_DAY})(?:T\d{{2}}:\d{{2}}(?::\d{{2}}(?:\.\d{{1,6}})?)?(?:Z|[+-]\d{{2}}:\d{{2}})?)?$"
)


@dataclass(frozen=True)
class AsOf:
    """A moment of the page's past, as a reader named it."""

    moment: datetime
    day: date | None  # set when only a day was named: its end is meant


def parse_as_of(text: str) -> AsOf:
    """Read a day ("2026-06-01": the end of that day in the site's time zone)
    or an ISO 8601 moment ("2026-06-01T14:30:00Z"; without a zone, the site's).
    Raises ValueError for anything else."""
    match = _MOMENT_RE.match(text)
    if match is None:
        raise ValueError(text)
    if match.group(0) == match.group("day"):
        day = date.fromisoformat(text)
        return AsOf(moment=end_of_day(day), day=day)
    moment = datetime.fromisoformat(text)
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=local_zone())
    return AsOf(moment=moment, day=None)


def as_of_slug(moment: datetime) -> str:
    """The URL form of a moment that `parse_as_of` reads back exactly: UTC, with
    microseconds only when there are any (a version's own moment in the changelog)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def publication_at(moment: datetime, now: datetime | None = None) -> Publication | None:
    """The publication the live page showed at `moment` (never one whose time
    has not come yet, when `moment` is later than now)."""
    now = now if now is not None else timezone.now()
    return live_publication(min(moment, now))


def publication_as_of(day: date, now: datetime | None = None) -> Publication | None:
    """The publication in effect at the end of `day`, as the live page showed it
    then. For today, "the end of the day" is now: a version scheduled for later
    today is not shown before its moment."""
    now = now if now is not None else timezone.now()
    return live_publication(min(end_of_day(day), now))


@dataclass(frozen=True)
class ChangelogEntry:
    publication: Publication
    previous: Publication | None
    changes: list[Change]


def publication_changelog(now: datetime | None = None) -> list[ChangelogEntry]:
    """Every version that the public page showed, newest first, each with its
    changes against the version it replaced. One query, the snapshots left
    unread, while the changes of each version are in the shared cache
    (`publication_changes`); one more for the snapshots of any that are not.

    A scheduled version that a higher version overtook before its moment was
    never shown, so it is left out (its content is part of the higher version).
    """
    in_effect = list(Publication.objects.in_effect(now).defer("snapshot").order_by("version"))
    shown: list[Publication] = []
    overtaken_from: datetime | None = None  # earliest moment a higher version took effect
    for publication in reversed(in_effect):
        if overtaken_from is None or publication.effective_at < overtaken_from:
            shown.append(publication)
            overtaken_from = publication.effective_at
    shown.reverse()
    pairs = list(zip(shown, [None, *shown][: len(shown)], strict=True))
    changes = publication_changes(pairs)
    entries = [ChangelogEntry(publication, previous, changes[publication.pk]) for publication, previous in pairs]
    entries.reverse()
    return entries


# Changes between two versions never change: kept a month, computed once.
CHANGES_CACHE_SECONDS = 30 * 24 * 3600


@cache
def _diff_revision() -> str:
    """A fingerprint of the code that words the changes: a deploy that words
    them differently computes them again."""
    digest = hashlib.sha256()
    for path in sorted((Path(__file__).resolve().parent / "diff").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _changes_key(publication: Publication, previous: Publication | None) -> str:
    before = f"{previous.pk}:{previous.snapshot_taken_at.isoformat()}" if previous is not None else "-"
    return (
        f"compliance:changes:{_diff_revision()}:{publication.pk}:{publication.snapshot_taken_at.isoformat()}:{before}"
    )


def publication_changes(pairs: list[tuple[Publication, Publication | None]]) -> dict[int, list[Change]]:
    """The changes of each (version, the version it replaced), by the version's
    pk, from the shared cache; the ones missing there are computed from the
    snapshots, read in one query, and cached."""
    keys = {publication.pk: _changes_key(publication, previous) for publication, previous in pairs}
    found: dict[str, list[Change]] = shared_cache.get_many(list(keys.values())) if keys else {}
    missing = [(publication, previous) for publication, previous in pairs if keys[publication.pk] not in found]
    if missing:
        wanted = {publication.pk for publication, _ in missing} | {prev.pk for _, prev in missing if prev is not None}
        snapshots = dict(Publication.objects.filter(pk__in=wanted).values_list("pk", "snapshot"))
        computed = {
            keys[publication.pk]: snapshot_diff(
                snapshots[previous.pk] if previous is not None else None, snapshots[publication.pk]
            )
            for publication, previous in missing
        }
        shared_cache.set_many(computed, CHANGES_CACHE_SECONDS)
        found.update(computed)
    return {pk: found[key] for pk, key in keys.items()}


def editor_ids_since(moment: datetime | None, until: datetime | None = None) -> set[int]:
    """Ids of the users who changed any content row at or after `moment` (all
    time if None) and, given `until`, at or before it. "At" counts at both
    ends: an edit stamped the same instant as a snapshot may or may not be in
    it, so it is treated as part of it and as unreviewed."""
    ids: set[int] = set()
    model: type[Model]
    for model in CONTENT_MODELS:
        rows = model.history.exclude(history_user__isnull=True)
        if moment is not None:
            rows = rows.filter(history_date__gte=moment)
        if until is not None:
            rows = rows.filter(history_date__lte=until)
        ids.update(rows.values_list("history_user_id", flat=True).distinct())
    return ids


@dataclass(frozen=True)
class DraftComparison:
    live: Publication | None
    draft: Snapshot
    changes: list[Change]


def draft_comparison(now: datetime | None = None) -> DraftComparison:
    """The current draft and what would change on the public page if it went live."""
    live = live_publication(now)
    draft = build_snapshot()
    return DraftComparison(live, draft, snapshot_diff(live.snapshot if live else None, draft))


# --- Updates -------------------------------------------------------------------

# How many updates the trust page shows; the rest are at /updates/.
PAGE_UPDATES = 3


def published_updates(at: datetime | None = None) -> QuerySet[UpdatePublication]:
    """The text the public sees of each published update at `at` (default
    now): its newest revision published by then, newest update first. An
    update that was never approved has no row here and is seen nowhere."""
    at = at if at is not None else timezone.now()
    newest = (
        UpdatePublication.objects.filter(update=OuterRef("update"), published_at__lte=at)
        .order_by("-revision")
        .values("pk")[:1]
    )
    return (
        UpdatePublication.objects.filter(published_at__lte=at)
        .annotate(newest_pk=Subquery(newest))
        .filter(pk=F("newest_pk"))
        .order_by("-first_published_at", "-update_id")
    )


def published_update(slug: str, at: datetime | None = None) -> UpdatePublication | None:
    """The public text of the update at /updates/<slug>/, or None (never
    published, or not by `at`). The slug is the one its approved text carries."""
    return published_updates(at).filter(content__slug=slug).first() if slug else None


@dataclass(frozen=True)
class UpdatesState:
    """The newest published update at a moment: what a cached public page
    showing updates must be keyed on (a new one or a correction moves it)."""

    newest_pk: int | None
    published_at: datetime | None

    def __str__(self) -> str:
        return f"updates:{self.newest_pk or 0}"


def updates_state(at: datetime | None = None) -> UpdatesState:
    """One indexed query: the last update publication up to `at`."""
    at = at if at is not None else timezone.now()
    row = (
        UpdatePublication.objects.filter(published_at__lte=at)
        .order_by("-published_at", "-pk")
        .values_list("pk", "published_at")
        .first()
    )
    return UpdatesState(*row) if row else UpdatesState(None, None)


def latest_update_publication(update_id: int) -> UpdatePublication | None:
    return UpdatePublication.objects.filter(update_id=update_id).order_by("-revision").first()


def update_editor_ids(update_id: int, *, since: datetime | None, until: datetime | None) -> set[int]:
    """Ids of the users who changed the update at or after `since` and at or
    before `until` (both ends count, as in `editor_ids_since`)."""
    rows = Update.history.filter(id=update_id).exclude(history_user__isnull=True)
    if since is not None:
        rows = rows.filter(history_date__gte=since)
    if until is not None:
        rows = rows.filter(history_date__lte=until)
    return set(rows.values_list("history_user_id", flat=True).distinct())


# Where each kind of item an update may concern is listed, and its label field.
_CONCERN_SOURCES: tuple[tuple[str, type[Model], str], ...] = (
    ("certification", Certification, "name"),
    ("control", Control, "title"),
    ("subprocessor", Subprocessor, "name"),
    ("data-handling", DataHandlingRow, "category"),
    ("gdpr", GdprFact, "label"),
    ("contact-route", ContactRoute, "label"),
    ("document", Document, "title"),
)


def update_concern_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """What an editor may say an update concerns: every section and every
    shown item of the draft, grouped for a select box."""
    groups: list[tuple[str, list[tuple[str, str]]]] = [
        ("Sections", [(f"section:{s.key}", s.title) for s in Section.objects.all()])
    ]
    for kind, model, label in _CONCERN_SOURCES:
        rows = model._default_manager.filter(is_active=True).values_list("slug", label)
        groups.append(
            (str(model._meta.verbose_name_plural).capitalize(), [(f"{kind}:{slug}", text) for slug, text in rows])
        )
    return groups


def _snapshot_items(snapshot: Snapshot) -> dict[str, tuple[str, str]]:
    """Every section and item of a published snapshot by reference, with its
    label and the anchor of the section it is shown in."""
    found: dict[str, tuple[str, str]] = {}
    for section in snapshot.get("sections", []):
        found[f"section:{section['key']}"] = (section.get("title", ""), section["key"])
        for group in section.get("groups", []):
            for item in group.get("items", []):
                found[f"control:{item['slug']}"] = (item.get("title", ""), section["key"])
    for kind, key, label, anchor in (
        ("certification", "certifications", "name", "certifications"),
        ("subprocessor", "subprocessors", "name", "infrastructure"),
        ("data-handling", "data_handling", "category", "data-handling"),
        ("gdpr", "gdpr", "label", "gdpr"),
        ("contact-route", "contact_routes", "label", "contact"),
        ("document", "documents", "title", "documents"),
    ):
        for item in snapshot.get(key, []):
            found[f"{kind}:{item['slug']}"] = (item.get(label, ""), anchor)
    return found


@dataclass(frozen=True)
class Concern:
    label: str
    anchor: str


def update_concerns(refs: list[str], snapshot: Snapshot | None) -> list[Concern]:
    """The references of an update resolved against a published snapshot.
    A reference the snapshot does not show (an item still in the draft, or
    retired since) is left out: the public sees only published names."""
    if not snapshot:
        return []
    items = _snapshot_items(snapshot)
    return [Concern(*items[ref]) for ref in refs if ref in items]
