"""Checking the chain end to end.

Walks every link in sequence order, in batches, and checks that sequence
numbers have no gap, each link names the previous link's hash, each link's
own hash is right, the chained row still exists and hashes to what was
recorded (personal fields by their stored commitments, and, while their salts
are held, their values against those commitments), and the head row records
the last link. Then, when asked, that a head seen earlier is still part of the
chain; that the transparency log's signed checkpoints and stored tree agree
with the links (`evidence.tlog_verify`); and looks for rows in the chained
tables that no link covers (written around the chain).
"""

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Exists, Model, OuterRef

from .canonical import GENESIS_HASH, hashed_row_digest, link_digest
from .models import HEAD_ID, ChainHead, ChainLink, ChainSchema, Checkpoint
from .personal import commitments_of, rewritten_field, salts_of
from .registry import chained_models, read_rows
from .tlog_verify import KeyRing, TreeCheck, log_problem, notes_to_check, sizes_named

BATCH_SIZE = 2000


@dataclass(frozen=True)
class Broken:
    seq: int | None
    problem: str

    def __str__(self) -> str:
        return f"at link {self.seq}: {self.problem}" if self.seq is not None else self.problem


@dataclass(frozen=True)
class VerifyResult:
    links: int
    head_seq: int
    head_hash: str
    broken: Broken | None
    # The transparency log: the recomputed tree root and how many signed checkpoints verified.
    tree_root: bytes = b""
    checkpoints: int = 0
    # Leaves of the stored tree (less than `links` until an upgraded install syncs its tree).
    tree_size: int = 0
    # Links no signed checkpoint holds yet: appended since the newest one (signed hourly).
    unsigned: int = 0
    # What the operator should know that is not a break (a revocation kept only in the database).
    notices: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.broken is None


# "SEQ:HASH" as the export manifest and `verify_chain` print it, or "#SEQ HASH"
# as the public page's footer shows it (copied with or without the "#").
HEAD_TEXT = re.compile(r"#?\s*(\d+)\s*(?::\s*|\s+)([0-9a-fA-F]{64})")


def parse_head(text: str) -> tuple[int, str]:
    """A chain head as the page footer, the export manifest or this command show it."""
    match = HEAD_TEXT.fullmatch(text.strip())
    if match is None:
        raise ValueError("expected SEQ:HASH or #SEQ HASH, e.g. 42:3fa9… (64 hex digits)")
    return int(match[1]), match[2].lower()


def _walk(
    expect: tuple[int, str] | None,
    progress: Callable[[int], None] | None,
    on_link: Callable[[ChainLink], None] | None = None,
) -> tuple[int, str, Broken | None, str | None]:
    """Returns (last seq, last hash, first break, hash at the expected seq)."""
    registry = chained_models()
    schemas = {s.pk: s.attnames for s in ChainSchema.objects.all()}
    expected_seq, prev_hash = 1, GENESIS_HASH
    prev_time = None
    seen_expected: str | None = None
    after = 0
    while True:
        links = list(ChainLink.objects.filter(seq__gt=after).order_by("seq")[:BATCH_SIZE])
        if not links:
            return expected_seq - 1, prev_hash, None, seen_expected
        by_label: dict[str, list[int]] = defaultdict(list)
        for link in links:
            by_label[link.model_label].append(link.row_pk)
        rows: dict[str, dict[int, dict]] = {}
        commitments: dict[str, dict[int, dict[str, str]]] = defaultdict(dict)
        salts: dict[str, dict[int, dict[str, bytes]]] = defaultdict(dict)
        for label, pks in by_label.items():
            if label in registry:
                rows[label] = read_rows(registry[label].model, pks)
                if registry[label].personal:
                    commitments[label] = commitments_of(label, pks)
                    salts[label] = salts_of(label, pks)
        for link in links:
            if link.seq != expected_seq:
                if link.seq > expected_seq:
                    problem = f"links {expected_seq}..{link.seq - 1} are missing (deleted or never written)"
                else:
                    problem = f"sequence goes back from {expected_seq - 1} to {link.seq}"
                return expected_seq - 1, prev_hash, Broken(expected_seq, problem), seen_expected
            if link.prev_hash != prev_hash:
                return (
                    expected_seq - 1,
                    prev_hash,
                    Broken(
                        link.seq, "does not name the previous link's hash (a link before it was changed or replaced)"
                    ),
                    seen_expected,
                )
            recomputed = link_digest(
                seq=link.seq,
                model_label=link.model_label,
                row_pk=link.row_pk,
                row_hash=link.row_hash,
                prev_hash=link.prev_hash,
                recorded_at=link.recorded_at,
                actor_id=link.actor_id,
                actor_username=link.actor_username,
                format=link.format,
            )
            if recomputed != link.link_hash:
                return (
                    expected_seq - 1,
                    prev_hash,
                    Broken(link.seq, "the link's own fields were altered"),
                    seen_expected,
                )
            # Writers never let a link's time go back (append_link clamps it to the head's).
            if prev_time is not None and link.recorded_at < prev_time:
                return (
                    expected_seq - 1,
                    prev_hash,
                    Broken(link.seq, "it was recorded before the link before it (a backdated insert)"),
                    seen_expected,
                )
            where = f"{link.model_label} row {link.row_pk}"
            if link.model_label not in rows:
                return (
                    expected_seq - 1,
                    prev_hash,
                    Broken(link.seq, f"{where}: model is not chained here"),
                    seen_expected,
                )
            row = rows[link.model_label].get(link.row_pk)
            if row is None:
                return expected_seq - 1, prev_hash, Broken(link.seq, f"{where} was deleted"), seen_expected
            attnames = schemas.get(link.schema_id)
            if attnames is None or any(name not in row for name in attnames):
                return (
                    expected_seq - 1,
                    prev_hash,
                    Broken(link.seq, f"{where}: hashed fields no longer exist"),
                    seen_expected,
                )
            committed = commitments[link.model_label].get(link.row_pk, {})
            if hashed_row_digest(row, attnames, committed) != link.row_hash:
                return (
                    expected_seq - 1,
                    prev_hash,
                    Broken(link.seq, f"{where} was altered after it was chained"),
                    seen_expected,
                )
            rewritten = rewritten_field(row, committed, salts[link.model_label].get(link.row_pk, {}))
            if rewritten is not None:
                return (
                    expected_seq - 1,
                    prev_hash,
                    Broken(link.seq, f"{where}: personal field {rewritten} was altered after it was chained"),
                    seen_expected,
                )
            if expect is not None and link.seq == expect[0]:
                seen_expected = link.link_hash
            if on_link is not None:
                on_link(link)
            prev_hash = link.link_hash
            prev_time = link.recorded_at
            expected_seq += 1
        after = links[-1].seq
        if progress is not None:
            progress(after)


def _unchained_row() -> Broken | None:
    for label, chained in chained_models().items():
        model: type[Model] = chained.model
        # NOT EXISTS, not NOT IN: PostgreSQL runs NOT IN over more links than fit in
        # work_mem as a scan of the links per row (quadratic); NOT EXISTS is an anti join.
        linked = ChainLink.objects.filter(model_label=label, row_pk=OuterRef("pk"))
        pk = model._base_manager.filter(~Exists(linked)).order_by("pk").values_list("pk", flat=True).first()
        if pk is not None:
            return Broken(None, f"{label} row {pk} is not in the chain (inserted around it, out of sequence)")
    return None


def verify_chain(
    *,
    expect_head: tuple[int, str] | None = None,
    progress: Callable[[int], None] | None = None,
    checkpoint_files: Sequence[Path] = (),
    trusted_keys: Sequence[str] | None = None,
) -> VerifyResult:
    """Check the whole chain and the transparency log over it; the result names
    the first broken link or the first checkpoint that does not hold, if any.

    `progress`, if given, is called with the last sequence number checked after
    each batch. `checkpoint_files` are more files of checkpoints to check (one
    an outsider kept); `trusted_keys` (verifier key strings) replace the
    recorded signing keys as the keys checkpoints must be signed with.
    """
    notes = notes_to_check(checkpoint_files)
    keys = KeyRing.load(trusted_keys)
    tree = TreeCheck(sizes=sizes_named(notes))
    last_seq, last_hash, broken, seen_expected = _walk(expect_head, progress, tree.add)
    head = ChainHead.objects.filter(pk=HEAD_ID).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    verified = 0

    def result(problem: Broken | None) -> VerifyResult:
        newest = Checkpoint.objects.order_by("-tree_size").values_list("tree_size", flat=True).first() or 0
        return VerifyResult(
            unsigned=max(last_seq - newest, 0),
            links=last_seq,
            head_seq=head_seq,
            head_hash=head_hash,
            broken=problem,
            tree_root=tree.root(),
            checkpoints=verified,
            tree_size=tree.stored_size,
            notices=tuple(keys.notices),
        )

    if broken is not None:
        return result(broken)
    if head is None and last_seq:
        return result(Broken(last_seq, "the head row is missing"))
    if head_seq > last_seq:
        return result(Broken(last_seq + 1, f"the chain ends at {last_seq} but the head records {head_seq}: tail cut"))
    if head_seq < last_seq:
        return result(Broken(head_seq + 1, f"links after the head ({head_seq}) were appended around it"))
    if head_hash != last_hash:
        return result(Broken(last_seq, "the head's hash differs from the last link's hash"))
    if expect_head is not None:
        seq, expected_hash = expect_head
        if seq > last_seq:
            return result(
                Broken(last_seq + 1, f"the chain ends at {last_seq}, before the expected head {seq}: tail cut")
            )
        if seq > 0 and seen_expected != expected_hash:
            return result(Broken(seq, "its hash differs from the expected head's hash"))
        if seq == 0 and expected_hash != GENESIS_HASH:
            return result(Broken(0, "the expected head is not the genesis hash"))
    # A signed checkpoint is the stronger witness of a cut or rewrite, so it speaks first.
    problem, verified = log_problem(notes, tree, last_seq, keys)
    if problem is not None:
        return result(Broken(*problem))
    return result(_unchained_row())
