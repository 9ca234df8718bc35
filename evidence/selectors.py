"""Reads of the evidence ledger shared by the admin, the exports and templates.

The audit log reads the ledger, newest first, a page at a time by keyset on
the sequence number (never OFFSET, never a COUNT of the table), then fetches
what the page needs in a fixed number of queries: one per chained model on
the page (its rows together with each row's previous version), one for the
publications, one for the users. The count does not grow with the data.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, QuerySet, Subquery, Value
from django.db.models.fields.files import FieldFile
from django.db.models.functions import Coalesce

from . import tlog
from .canonical import GENESIS_HASH, plain, utc_iso
from .models import HEAD_ID, ChainHead, ChainLink, Checkpoint, SigningKey
from .registry import Chained, chained_models, publishing_model
from .signing import configured_revocations, effective_revocation, trusted_verifier_keys

PAGE_SIZE = 50
# What the audit log and its exports show for a personal field (ChainSpec.personal):
# the chain holds a commitment to it, and the auditor reads the record without it.
PERSONAL_DATA = "(personal data)"
HISTORY_TYPES = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass(frozen=True)
class Head:
    """Where the audit chain stands: what the page footer, trust.json, the audit
    log and exports show. `str()` is the `SEQ:HASH` form `verify_chain --expect-head` takes."""

    seq: int
    hash: str
    # When the newest link was written: the public page's Last-Modified moves with it.
    recorded_at: datetime | None = field(default=None, compare=False)

    def as_json(self) -> dict[str, int | str]:
        """As trust.json carries it."""
        return {"sequence": self.seq, "hash": self.hash}

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def chain_head() -> Head:
    """The newest link's sequence number and hash. One query."""
    row = ChainHead.objects.filter(pk=HEAD_ID).values_list("seq", "hash", "recorded_at").first()
    return Head(*row) if row else Head(0, GENESIS_HASH)


def sealed_state_annotations(model_label: str) -> dict[str, Subquery | Coalesce]:
    """Annotations for a queryset of chained rows of `model_label` (publications):
    what public caches of such a row depend on, read in the row's own query.

    - `sealed_seq`, `sealed_hash`: the row's own link, the chain head sealed into it;
    - `sealed_checkpoint_id`: the first checkpoint that holds that link (what the feed quotes);
    - `checkpoint_id`: the newest checkpoint, the live signed head;
    - `revoked_keys`: how many signing keys are revoked (a revocation signs no checkpoint).
    """
    link = ChainLink.objects.filter(model_label=model_label, row_pk=OuterRef("pk"))
    covering = Checkpoint.objects.filter(tree_size__gte=OuterRef("sealed_seq")).order_by("tree_size", "id")
    revoked = (
        SigningKey.objects.filter(revoked_from__isnull=False)
        .order_by()
        .values(one=Value(1))
        .annotate(n=Count("id"))
        .values("n")
    )
    return {
        "sealed_seq": Subquery(link.values("seq")[:1]),
        "sealed_hash": Subquery(link.values("link_hash")[:1]),
        "sealed_checkpoint_id": Subquery(covering.values("id")[:1]),
        "checkpoint_id": Subquery(Checkpoint.objects.order_by("-tree_size", "-id").values("id")[:1]),
        "revoked_keys": Coalesce(Subquery(revoked), Value(0)),
    }


def sealed_head(*, model_label: str, row_pk: int) -> Head | None:
    """The chain head sealed into a chained row: its own link. One query."""
    row = ChainLink.objects.filter(model_label=model_label, row_pk=row_pk).values_list("seq", "link_hash").first()
    return Head(*row) if row else None


@dataclass(frozen=True)
class AuditFilters:
    date_from: date | None = None
    date_to: date | None = None
    user_id: int | None = None
    model_label: str | None = None
    # A filter naming a user that does not exist matches nothing.
    match_nothing: bool = False


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    before: Any
    after: Any


@dataclass(frozen=True)
class PublicationRef:
    pk: int
    seq: int
    version: int | None
    effective_at: datetime | None

    def __str__(self) -> str:
        return f"v{self.version}" if self.version is not None else f"#{self.pk}"


@dataclass
class AuditEntry:
    seq: int
    recorded_at: datetime
    model_label: str
    model_name: str
    change_type: str
    object_id: Any = None
    object_repr: str = ""
    changed_at: datetime | None = None
    user: str = ""
    reason: str = ""
    changes: list[FieldChange] = field(default_factory=list)
    publication: PublicationRef | None = None
    row_hash: str = ""
    prev_hash: str = ""
    link_hash: str = ""

    def as_export_row(self) -> dict[str, Any]:
        """The entry as exported: plain values, UTC times, stable keys."""
        pub = self.publication
        return {
            "seq": self.seq,
            "time": utc_iso(self.changed_at) if self.changed_at else None,
            "chained_at": utc_iso(self.recorded_at),
            "model": self.model_label,
            "object_id": plain(self.object_id),
            "object": self.object_repr,
            "change": self.change_type,
            "user": self.user,
            "reason": self.reason,
            "changes": {c.field: {"before": plain(c.before), "after": plain(c.after)} for c in self.changes},
            "publication_version": pub.version if pub else None,
            "publication_effective_at": utc_iso(pub.effective_at) if pub and pub.effective_at else None,
            "row_hash": self.row_hash,
            "prev_hash": self.prev_hash,
            "link_hash": self.link_hash,
        }


EXPORT_COLUMNS = list(AuditEntry(0, datetime.now(UTC), "", "", "").as_export_row())


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    newer: int | None  # pass as ?after= to see newer entries
    older: int | None  # pass as ?before= to see older entries


# The dates a filter or an export may name. Outside them the day arithmetic
# overflows, and no link can be dated there anyway.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(9998, 12, 31)


def validate_audit_date(day: date) -> None:
    """Refuse a date outside EARLIEST_DATE..LATEST_DATE."""
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(
            "Enter a date between %(earliest)s and %(latest)s.",
            code="date_range",
            params={"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()},
        )


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def seq_range(date_from: date | None, date_to: date | None) -> tuple[int, int] | None:
    """The contiguous sequence numbers chained between two UTC dates (inclusive).

    Link times never go back, so the first link at or after the start and the
    last before the end bound the range: two index lookups. None when empty.
    """
    lo, hi = 1, 2**62
    if date_from is not None:
        first = (
            ChainLink.objects.filter(recorded_at__gte=day_start(date_from))
            .order_by("recorded_at", "seq")
            .values_list("seq", flat=True)
            .first()
        )
        if first is None:
            return None
        lo = first
    if date_to is not None:
        last = (
            ChainLink.objects.filter(recorded_at__lt=day_start(date_to + timedelta(days=1)))
            .order_by("-recorded_at", "-seq")
            .values_list("seq", flat=True)
            .first()
        )
        if last is None:
            return None
        hi = last
    return (lo, hi) if lo <= hi else None


def filtered_links(filters: AuditFilters) -> QuerySet[ChainLink]:
    qs = ChainLink.objects.all()
    if filters.match_nothing:
        return qs.none()
    if filters.date_from or filters.date_to:
        bounds = seq_range(filters.date_from, filters.date_to)
        if bounds is None:
            return qs.none()
        qs = qs.filter(seq__gte=bounds[0], seq__lte=bounds[1])
    if filters.user_id is not None:
        qs = qs.filter(actor_id=filters.user_id)
    if filters.model_label:
        qs = qs.filter(model_label=filters.model_label)
    return qs


def audit_log_page(
    *,
    filters: AuditFilters,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> AuditPage:
    """One page of the audit log, newest first."""
    qs = filtered_links(filters)
    if after is not None:
        links = list(qs.filter(seq__gt=after).order_by("seq")[: size + 1])
        more_newer = len(links) > size
        links = links[:size][::-1]
        newer = links[0].seq if links and more_newer else None
        older = links[-1].seq if links else None
    else:
        if before is not None:
            qs = qs.filter(seq__lt=before)
        links = list(qs.order_by("-seq")[: size + 1])
        more_older = len(links) > size
        links = links[:size]
        newer = links[0].seq if links and before is not None else None
        older = links[-1].seq if links and more_older else None
    return AuditPage(entries=build_entries(links), newer=newer, older=older)


def iter_entries(filters: AuditFilters, batch: int = 1000) -> Iterator[AuditEntry]:
    """Every matching entry in ascending sequence order, in batches (for exports)."""
    qs = filtered_links(filters)
    last = 0
    while True:
        links = list(qs.filter(seq__gt=last).order_by("seq")[:batch])
        if not links:
            return
        yield from build_entries(links)
        last = links[-1].seq


def _history_rows(chained: Chained, pks: list[int]) -> dict[int, Any]:
    """The page's history rows and, in the same query, each one's previous version."""
    model = chained.model
    object_pk = chained.content_pk_attname
    previous = (
        model._base_manager.filter(**{object_pk: OuterRef(object_pk)}, history_id__lt=OuterRef("history_id"))
        .order_by("-history_id")
        .values("history_id")[:1]
    )
    prev_ids = model._base_manager.filter(pk__in=pks).annotate(prev=Subquery(previous)).values("prev")
    # A UNION of two index lookups: written as one WHERE with OR, PostgreSQL
    # scans the whole history table.
    rows = (
        model._base_manager.filter(pk__in=pks).order_by().union(model._base_manager.filter(pk__in=prev_ids).order_by())
    )
    return {row.pk: row for row in rows}


def _previous_version(row: Any, versions: list[Any]) -> Any:
    earlier = [v for v in versions if v.history_id < row.history_id]
    return max(earlier, key=lambda v: v.history_id) if earlier else None


def _carrying_publications(links: list[ChainLink]) -> list[PublicationRef]:
    """The publications chained on or after the page's first link, up to the
    first one after its last: whatever carried the page's changes live. One
    query, with each publication's version and time read alongside."""
    publishing = publishing_model()
    if publishing is None or not links:
        return []
    publication, publication_label = publishing.model, publishing.label
    low = min(link.seq for link in links)
    high = max(link.seq for link in links)
    first_after = (
        ChainLink.objects.filter(model_label=publication_label, seq__gt=high).order_by("seq").values("seq")[:1]
    )

    def column(name: str) -> Subquery:
        return Subquery(publication._base_manager.filter(pk=OuterRef("row_pk")).values(name)[:1])

    rows = (
        ChainLink.objects.filter(
            model_label=publication_label,
            seq__gte=low,
            seq__lte=Coalesce(Subquery(first_after), Value(high)),
        )
        .annotate(version=column("version"), effective_at=column("effective_at"))
        .order_by("seq")
        .values_list("seq", "row_pk", "version", "effective_at")
    )
    return [
        PublicationRef(pk=pk, seq=seq, version=version, effective_at=effective_at)
        for seq, pk, version, effective_at in rows
    ]


def build_entries(links: list[ChainLink]) -> list[AuditEntry]:
    registry = chained_models()
    carriers = _carrying_publications(links)
    wanted: dict[str, set[int]] = defaultdict(set)
    for link in links:
        wanted[link.model_label].add(link.row_pk)

    rows: dict[str, dict[int, Any]] = {}
    for label, pks in wanted.items():
        chained = registry.get(label)
        if chained is None:
            continue
        if chained.is_history:
            rows[label] = _history_rows(chained, sorted(pks))
        else:
            rows[label] = {r.pk: r for r in chained.model._base_manager.filter(pk__in=sorted(pks))}

    versions_by_object: dict[tuple[str, Any], list[Any]] = defaultdict(list)
    for label, by_pk in rows.items():
        chained = registry[label]
        if chained.is_history:
            object_pk = chained.content_pk_attname
            for row in by_pk.values():
                versions_by_object[(label, getattr(row, object_pk))].append(row)

    # Links of format 2 on carry the name at the time; older ones show today's.
    user_ids = {link.actor_id for link in links if link.actor_id is not None and link.format < 2}
    usernames = (
        dict(get_user_model()._default_manager.filter(pk__in=user_ids).values_list("pk", "username"))
        if user_ids
        else {}
    )

    def carrier(seq: int) -> PublicationRef | None:
        return next((ref for ref in carriers if ref.seq >= seq), None)

    entries = []
    for link in links:
        chained = registry.get(link.model_label)
        row = rows.get(link.model_label, {}).get(link.row_pk)
        entry = AuditEntry(
            seq=link.seq,
            recorded_at=link.recorded_at,
            model_label=link.model_label,
            model_name=str(
                chained.content_model._meta.verbose_name
                if chained and chained.content_model
                else chained.model._meta.verbose_name
                if chained
                else link.model_label
            ),
            change_type="recorded",
            user=(link.actor_username if link.format >= 2 else usernames.get(link.actor_id, ""))
            if link.actor_id
            else "",
            publication=carrier(link.seq),
            row_hash=link.row_hash,
            prev_hash=link.prev_hash,
            link_hash=link.link_hash,
        )
        if chained is None or row is None:
            entry.change_type = "missing"
            entry.object_id = link.row_pk
            entry.object_repr = "(row no longer exists)"
        elif chained.is_history:
            _fill_history(entry, chained, row, versions_by_object)
        else:
            _fill_record(entry, chained, row)
        entries.append(entry)
    return entries


def _fill_history(entry: AuditEntry, chained: Chained, row: Any, versions: dict[tuple[str, Any], list[Any]]) -> None:
    content_meta = chained.content_meta
    object_pk = chained.content_pk_attname
    entry.object_id = getattr(row, object_pk)
    entry.object_repr = _without_personal(
        chained, row, str(row.instance), instead=f"{content_meta.verbose_name} {entry.object_id}"
    )
    entry.changed_at = row.history_date
    entry.change_type = HISTORY_TYPES.get(row.history_type, row.history_type)
    entry.reason = _without_personal(chained, row, row.history_change_reason or "", field="history_change_reason")
    if row.history_type == "-":
        return
    previous = _previous_version(row, versions[(chained.label, entry.object_id)])
    # Fields the history leaves out (secrets such as link token hashes) have no before or after.
    kept = set(chained.attnames)
    for f in content_meta.concrete_fields:
        if f.attname == object_pk or f.attname not in kept:
            continue
        if f.attname in chained.personal:
            # Named on the first version only: whether a later one changed it
            # would read the values, and would read differently once purged.
            if previous is None:
                entry.changes.append(FieldChange(f.attname, str(f.verbose_name), None, PERSONAL_DATA))
            continue
        after = _stored(getattr(row, f.attname))
        before = _stored(getattr(previous, f.attname)) if previous is not None else None
        if previous is None or before != after:
            entry.changes.append(FieldChange(f.attname, str(f.verbose_name), before, after))


def _without_personal(chained: Chained, row: Any, text: str, *, field: str = "", instead: str = PERSONAL_DATA) -> str:
    """`text` as the audit log may show it: PERSONAL_DATA for a personal field,
    `instead` when it quotes one of the row's personal values (the name of an
    attachment, say), else as is."""
    if not text or not chained.personal:
        return text
    if field in chained.personal:
        return PERSONAL_DATA
    if any(value and str(value) in text for value in (getattr(row, name) for name in chained.personal)):
        return instead
    return text


def _stored(value: Any) -> Any:
    """A field's value as stored: a file is its name."""
    return value.name if isinstance(value, FieldFile) else value


def _fill_record(entry: AuditEntry, chained: Chained, row: Any) -> None:
    entry.object_id = row.pk
    version = getattr(row, "version", None)
    entry.object_repr = _without_personal(
        chained, row, str(row), instead=f"{chained.model._meta.verbose_name} {row.pk}"
    )
    entry.changed_at = getattr(row, chained.time_attname) if chained.time_attname else None
    entry.change_type = chained.action
    # A record may word its own audit entry (`audit_reason`); else its summary or reason.
    entry.reason = str(
        getattr(row, "audit_reason", "") or getattr(row, "summary", "") or getattr(row, "reason", "") or ""
    )
    entry.user = entry.user or getattr(row, "actor_username", "")
    if chained.publishes:
        entry.publication = PublicationRef(
            pk=row.pk, seq=entry.seq, version=version, effective_at=getattr(row, "effective_at", None)
        )


# --- The transparency log: checkpoints and signing keys, as published -------------------


def checkpoint_latest() -> Checkpoint | None:
    """The newest signed checkpoint (the largest tree), or None before the first."""
    return Checkpoint.objects.order_by("-tree_size", "-id").first()


def checkpoint_at_size(size: int) -> Checkpoint | None:
    """The first checkpoint signed for exactly this tree size, if any."""
    return Checkpoint.objects.filter(tree_size=size).order_by("id").first()


def checkpoint_covering(seq: int) -> Checkpoint | None:
    """The first checkpoint whose tree holds link `seq` (for a publication: the one signed for it)."""
    return Checkpoint.objects.filter(tree_size__gte=seq).order_by("tree_size", "id").first()


def checkpoint_for_row(*, model_label: str, row_pk: int) -> Checkpoint | None:
    """The first checkpoint that holds the link of a chained row (e.g. `compliance.publication`
    and a publication's pk): what the feed and subscriber notices quote. None when the row is
    not chained or no checkpoint holds it yet. Two queries."""
    seq = ChainLink.objects.filter(model_label=model_label, row_pk=row_pk).values_list("seq", flat=True).first()
    return checkpoint_covering(seq) if seq is not None else None


def checkpoint_notes_for_rows(*, model_label: str, row_pks: list[int]) -> dict[int, str]:
    """For each chained row, the signed note of the first checkpoint that holds its link,
    by row pk (rows no checkpoint holds yet are left out). One query, whatever the number
    of rows: what the feed quotes for each publication."""
    first_note = Checkpoint.objects.filter(tree_size__gte=OuterRef("seq")).order_by("tree_size", "id").values("note")
    found = (
        ChainLink.objects.filter(model_label=model_label, row_pk__in=row_pks)
        .annotate(note=Subquery(first_note[:1]))
        .values_list("row_pk", "note")
    )
    return {row_pk: note for row_pk, note in found if note}


def checkpoint_public(checkpoint_id: int | None) -> dict[str, Any] | None:
    """A checkpoint as trust.json carries it (the live signed head): tree size, root
    hash (hex), signed time and the signed note itself. One query."""
    found = Checkpoint.objects.filter(pk=checkpoint_id).first() if checkpoint_id is not None else None
    if found is None:
        return None
    return {
        "tree_size": found.tree_size,
        "root_hash": found.root_hash,
        "signed_at": utc_iso(found.signed_at),
        "note": found.note,
    }


def signing_keys_public() -> list[dict[str, Any]]:
    """Every configured key that signed a checkpoint, oldest first, with its validity period:
    what trust.json and /evidence/keys publish. Times are UTC ISO 8601 or None. A key
    recorded in the database that the configuration does not trust is not published; a
    revocation in `EVIDENCE_REVOKED_KEYS` is, even where the database lacks it."""
    trusted = {tlog.verifier_from_string(vkey).vkey for vkey in trusted_verifier_keys()}
    revoked = configured_revocations()
    published = []
    for key in SigningKey.objects.order_by("valid_from", "id"):
        if key.vkey not in trusted:
            continue
        revoked_from, reason = effective_revocation(key, revoked)
        published.append(
            {
                "name": key.name,
                "key_hash": key.key_hash,
                "verifier_key": key.vkey,
                "valid_from": utc_iso(key.valid_from),
                "valid_until": utc_iso(key.valid_until) if key.valid_until else None,
                "revoked_from": utc_iso(revoked_from) if revoked_from else None,
                "revoked_reason": reason or None,
            }
        )
    return published
