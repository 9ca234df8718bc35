"""Checking the transparency log against the chain: the stored tree and every signed checkpoint.

`verify_chain` recomputes the tree over the links as it walks them (a
`TreeCheck`), then `log_problem` checks:

- every checkpoint, in the database and in the checkpoint file (and any file
  an outsider kept), is a well-formed note signed by a known key that was
  valid and not revoked at the checkpoint's signed time;
- its tree size is not beyond the chain (else the tail was cut, or the log
  emptied) and its root is the root of the links now (else links were
  rewritten, even with every hash recomputed, since that needs the key);
- a database row says what its note says, and no checkpoint in the file is
  missing from the database;
- the stored tree holds no more leaves than the chain has links, and each of
  its nodes is the recomputed one (a tree behind the chain is only noted).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q

from . import tlog
from .models import Checkpoint, SigningKey, TreeNode
from .signing import configured_revocations, effective_revocation, trusted_verifier_keys
from .tlog_store import link_leaf_hash, tree_size

COMPARE_BATCH = 4096


@dataclass(frozen=True)
class NoteSeen:
    where: str  # "checkpoint 12 in the database", "checkpoint 3 in /var/…/evidence-checkpoints.txt"
    note: str
    row: Checkpoint | None = None
    in_log_file: bool = False


@dataclass
class TreeCheck:
    """The tree recomputed over the links, with its root at each size a checkpoint names,
    compared node by node with the stored tree (one query per few thousand nodes)."""

    sizes: set[int]
    frontier: tlog.Frontier = field(default_factory=tlog.Frontier)
    roots: dict[int, bytes] = field(default_factory=lambda: {0: tlog.EMPTY_ROOT})
    stored_size: int = field(default_factory=tree_size)
    pending: list[tuple[int, int, bytes]] = field(default_factory=list)
    first_bad: tlog.NodeId | None = None

    def add(self, link: Any) -> None:
        created = self.frontier.append(link_leaf_hash(link))
        if self.frontier.size in self.sizes:
            self.roots[self.frontier.size] = self.frontier.root()
        if self.first_bad is None:
            self.pending += created
            if len(self.pending) >= COMPARE_BATCH:
                self.compare()

    def compare(self) -> None:
        """Compare the nodes recomputed since the last call with the stored ones (those
        within the stored tree's size; a lagging or longer tree is reported by size)."""
        wanted = [
            (level, index, digest) for level, index, digest in self.pending if (index + 1) << level <= self.stored_size
        ]
        self.pending = []
        if not wanted or self.first_bad is not None:
            return
        ranges: dict[int, tuple[int, int]] = {}
        for level, index, _ in wanted:
            low, high = ranges.get(level, (index, index))
            ranges[level] = (min(low, index), max(high, index))
        condition = Q()
        for level, (low, high) in ranges.items():
            condition |= Q(level=level, index__gte=low, index__lte=high)
        stored = {
            (level, index): digest
            for level, index, digest in TreeNode.objects.filter(condition).values_list("level", "index", "hash")
        }
        for level, index, digest in wanted:
            if stored.get((level, index)) != digest.hex():
                self.first_bad = (level, index)
                return

    def root(self) -> bytes:
        return self.frontier.root()


def _file_notes(path: Path, *, in_log_file: bool) -> list[NoteSeen]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [
        NoteSeen(where=f"checkpoint {n} in {path}", note=note, in_log_file=in_log_file)
        for n, note in enumerate(tlog.split_notes(text), start=1)
    ]


def notes_to_check(extra_files: Sequence[Path] = ()) -> list[NoteSeen]:
    """Every checkpoint: the database rows, the checkpoint file, and the given files."""
    seen = [
        NoteSeen(where=f"checkpoint {row.pk} in the database", note=row.note, row=row)
        for row in Checkpoint.objects.select_related("key").order_by("tree_size", "id")
    ]
    seen += _file_notes(Path(settings.EVIDENCE_CHECKPOINT_FILE), in_log_file=True)
    for path in extra_files:
        seen += _file_notes(Path(path), in_log_file=False)
    return seen


def sizes_named(notes: Iterable[NoteSeen]) -> set[int]:
    """The tree sizes the checkpoints claim (unverified: only to know where to take roots)."""
    sizes = {tree_size()}
    for seen in notes:
        try:
            sizes.add(tlog.checkpoint_parse(seen.note[: seen.note.rfind("\n\n") + 1]).size)
        except tlog.NoteError:
            continue
    return sizes


@dataclass(frozen=True)
class KeyRing:
    """The keys checkpoints must be signed with, each with its recorded period.

    Trust comes from configuration (`evidence.signing.trusted_verifier_keys`), or
    from the keys given on the command line; the database only supplies periods
    and revocations, and a revocation kept in `EVIDENCE_REVOKED_KEYS` holds even
    if the database lifts it."""

    verifiers: list[tlog.Verifier]
    records: dict[tuple[str, int], SigningKey]
    problems: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, vkeys: Sequence[str] | None = None) -> "KeyRing":
        """The configured keys, or only the given verifier keys (with their recorded periods, if any)."""
        configured = vkeys is None
        verifiers = [tlog.verifier_from_string(vkey) for vkey in (trusted_verifier_keys() if vkeys is None else vkeys)]
        anchors = {verifier.vkey for verifier in verifiers}
        past = (
            {tlog.verifier_from_string(vkey).vkey for vkey in settings.EVIDENCE_TRUSTED_KEYS} if configured else set()
        )
        revoked = configured_revocations()
        rows = list(SigningKey.objects.all())
        by_vkey = {row.vkey: row for row in rows}
        records: dict[tuple[str, int], SigningKey] = {}
        for verifier in verifiers:
            record = by_vkey.get(verifier.vkey)
            if record is not None:
                records[(verifier.name, verifier.key_id)] = _with_revocation(record, revoked)
        ring = cls(verifiers, records)
        if configured:
            ring.problems.extend(
                f"signing key {row} is recorded in the database but configured nowhere (neither "
                "EVIDENCE_SIGNING_KEY nor EVIDENCE_TRUSTED_KEYS names it): added in the database, or a past "
                "key whose verifier key belongs in EVIDENCE_TRUSTED_KEYS"
                for row in rows
                if row.vkey not in anchors
            )
            ring.problems.extend(
                f"the past signing key {verifier.name}+{verifier.key_hash} of EVIDENCE_TRUSTED_KEYS has no record "
                "in the database: its record was deleted"
                for verifier in verifiers
                if verifier.vkey not in by_vkey and verifier.vkey in past
            )
        ring.notices.extend(
            f"The revocation of key {row} is recorded only in the database: add "
            f"{row.key_hash}@{row.revoked_from.isoformat()} to EVIDENCE_REVOKED_KEYS, where a database "
            "administrator cannot lift it."
            for row in rows
            if row.revoked_from is not None and row.key_hash not in revoked
        )
        return ring

    def untrusted(self, idents: Sequence[tuple[str, int]], signed_at: datetime) -> str | None:
        """Why none of the verified signatures counts at `signed_at`, or None when one does."""
        reasons = []
        for ident in idents:
            record = self.records.get(ident)
            if record is None or record.trusted_at(signed_at):
                return None
            if record.revoked_from is not None and signed_at >= record.revoked_from:
                reasons.append(
                    f"key {record} was revoked from {record.revoked_from.isoformat()} ({record.revoked_reason})"
                )
            else:
                until = record.valid_until.isoformat() if record.valid_until else "now"
                reasons.append(f"key {record} was in use only from {record.valid_from.isoformat()} to {until}")
        return "; ".join(reasons)


def _with_revocation(record: SigningKey, configured: dict[str, datetime]) -> SigningKey:
    """The record, distrusted from the configured revocation time if that is earlier than
    its own (an in-memory copy; nothing is saved)."""
    revoked_from, reason = effective_revocation(record, configured)
    if revoked_from == record.revoked_from:
        return record
    copy = SigningKey(**{f.attname: getattr(record, f.attname) for f in SigningKey._meta.concrete_fields})
    copy.revoked_from, copy.revoked_reason = revoked_from, reason
    return copy


def _check_note(seen: NoteSeen, keys: KeyRing) -> tuple[tlog.Checkpoint | None, str | None]:
    try:
        checkpoint, opened = tlog.checkpoint_open(seen.note, keys.verifiers)
    except tlog.BadSignature:
        return None, f"{seen.where} has a bad signature: it was altered or forged"
    except tlog.UnknownKey:
        return None, f"{seen.where} is signed by no known key: forged, or signed with a key never recorded"
    except tlog.NoteError as exc:
        return None, f"{seen.where} is malformed ({exc})"
    if checkpoint.signed_at is None:
        return None, f"{seen.where} has no signed time"
    why = keys.untrusted(opened.verified, checkpoint.signed_at)
    if why:
        return None, f"{seen.where}, signed at {checkpoint.signed_at.isoformat()}, is not trusted: {why}"
    row = seen.row
    if row is not None and (
        row.tree_size != checkpoint.size
        or row.root_hash != checkpoint.root.hex()
        or row.signed_at != checkpoint.signed_at
    ):
        return None, f"{seen.where}: its size, root or time differ from its signed note (the row was altered)"
    return checkpoint, None


def log_problem(
    notes: Sequence[NoteSeen], tree: TreeCheck, links: int, keys: KeyRing
) -> tuple[tuple[int | None, str] | None, int]:
    """The first problem with the checkpoints or the stored tree, as (link seq, text); and the
    number of checkpoints that verified."""
    if keys.problems:
        return (None, keys.problems[0]), 0
    checked: list[tuple[tlog.Checkpoint, NoteSeen]] = []
    for seen in notes:
        checkpoint, problem = _check_note(seen, keys)
        if problem is not None:
            return (None, problem), len(checked)
        assert checkpoint is not None
        checked.append((checkpoint, seen))
    matched = 0
    for checkpoint, seen in sorted(checked, key=lambda pair: pair[0].size):
        signed = f"{seen.where} (size {checkpoint.size}, signed at {checkpoint.signed_at})"
        if checkpoint.size > links:
            return (
                (links + 1, f"{signed} covers {checkpoint.size} links but the chain has {links}: tail cut"),
                len(checked),
            )
        if tree.roots.get(checkpoint.size) != checkpoint.root:
            return (
                (
                    matched + 1,
                    f"{signed} does not match the chain: links {matched + 1}..{checkpoint.size} were rewritten "
                    "after it was signed",
                ),
                len(checked),
            )
        matched = checkpoint.size
    in_database = {seen.note for seen in notes if seen.row is not None}
    for seen in notes:
        if seen.in_log_file and seen.note not in in_database:
            return (None, f"{seen.where} is missing from the database (deleted)"), len(checked)
    stored = tree.stored_size
    if stored > links:
        return (links + 1, f"the stored tree has {stored} leaves but the chain {links} links: tail cut"), len(checked)
    # A tree behind the chain (an install upgraded from before the tree, until
    # `evidence_tree_sync` or the next change) proves and hides nothing: checkpoints
    # are checked against the links themselves. The command mentions it.
    tree.compare()
    if tree.first_bad is not None:
        level, index = tree.first_bad
        first, last = (index << level) + 1, (index + 1) << level
        return (
            (first, f"the stored tree's node over links {first}..{last} does not match the links (altered)"),
            len(checked),
        )
    return None, len(checked)
