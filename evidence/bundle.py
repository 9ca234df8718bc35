"""Evidence bundles: a date range of the chain (or all of it), verifiable offline.

A bundle is a directory (or a tar of it) that `scripts/verify_evidence.py`
checks with Python and `cryptography` only, against the log's public key:

- `links.jsonl`: line k is link k of the bundle as its tree leaf holds it:
  the canonical JSON of every field its hash covers in its format, and the
  hash (`tlog_store.link_leaf_bytes`, byte for byte).
- `rows.jsonl`: line k is the canonical JSON of what link k's `row_hash`
  covers (SHA-256 of the line is the row hash): the row's fields by the
  schema it was chained with.
- `checkpoints.txt`: the signed checkpoints of the range (the first of each
  tree size from the first link to the last), and the first one at or after
  the last link, which seals the range; one signed note each, a blank line
  between.
- `tree.json`: what ties the links to those checkpoints when the range does
  not start at link 1: the perfect subtrees of the tree before the range
  (at most one per level), a consistency proof from the tree ending at the
  range's last link to the sealing checkpoint, and the links just before and
  after the range with their inclusion proofs in the sealed tree (so the
  range is shown complete).
- `keys.json`: the keys that signed those checkpoints, with their validity
  periods as far as they bear on them.
- `manifest.json`: the range, first and last sequence number, the hash
  entering the range, the counts and each file's SHA-256 and size.

Nothing in it depends on when it was made or on anything that may change
later: links carry the username frozen when they were written, rows their
stored fields (personal ones as the commitments the chain covers), and only
checkpoints at or before the seal are included. So exporting a closed range
again gives the same bytes. Links newer than the newest checkpoint are left
out: nothing signed covers them yet.
"""

import hashlib
import io
import json
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any, BinaryIO

from django.conf import settings
from django.db.models import Q

from . import tlog
from .canonical import canonical_json, hashed_fields, sha256_hex, utc_iso
from .models import ChainLink, ChainSchema, Checkpoint
from .personal import commitments_of
from .registry import chained_models, read_rows
from .selectors import seq_range
from .tlog_store import consistency_proof, inclusion_proof, link_leaf_bytes, node_getter

BUNDLE_FORMAT = 1
FILES = ("links.jsonl", "rows.jsonl", "checkpoints.txt", "tree.json", "keys.json")
MANIFEST = "manifest.json"
BATCH_SIZE = 2000


class BundleError(Exception):
    """The bundle cannot be made: nothing signed covers the range, or the database
    no longer matches its chain (which `verify_chain` then names)."""


@dataclass(frozen=True)
class BundleRange:
    """Links first..last (inclusive) and the checkpoint sealing them; first > last when empty."""

    first: int
    last: int
    date_from: date | None
    date_to: date | None
    left_out: int  # links of the range newer than the newest checkpoint


def bundle_name(date_from: date | None, date_to: date | None) -> str:
    if date_from is None or date_to is None:
        return "evidence-bundle_all"
    return f"evidence-bundle_{date_from.isoformat()}_{date_to.isoformat()}"


def _trusted(checkpoints: list[Checkpoint]) -> list[Checkpoint]:
    return [c for c in checkpoints if c.key.trusted_at(c.signed_at)]


def _signed_size() -> int:
    """The largest tree a trusted checkpoint covers."""
    for checkpoint in Checkpoint.objects.select_related("key").order_by("-tree_size", "-id").iterator(chunk_size=50):
        if checkpoint.key.trusted_at(checkpoint.signed_at):
            return checkpoint.tree_size
    return 0


def bundle_range(*, date_from: date | None = None, date_to: date | None = None) -> BundleRange:
    """The links a bundle of these UTC dates (inclusive; both None: everything) holds."""
    signed = _signed_size()
    if date_from is None and date_to is None:
        last_link = ChainLink.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        return BundleRange(1, signed, None, None, max(last_link - signed, 0))
    bounds = seq_range(date_from, date_to)
    if bounds is None:
        return BundleRange(1, 0, date_from, date_to, 0)
    first, last = bounds
    return BundleRange(first, min(last, signed), date_from, date_to, max(last - max(signed, first - 1), 0))


def _links(first: int, last: int) -> Iterator[list[ChainLink]]:
    after = first - 1
    while after < last:
        batch = list(ChainLink.objects.filter(seq__gt=after, seq__lte=last).order_by("seq")[:BATCH_SIZE])
        if not batch:
            return
        yield batch
        after = batch[-1].seq


def _row_lines(links: list[ChainLink], schemas: dict[int, list[str]]) -> list[bytes]:
    registry = chained_models()
    pks_by_label: dict[str, list[int]] = {}
    for link in links:
        pks_by_label.setdefault(link.model_label, []).append(link.row_pk)
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    commitments: dict[str, dict[int, dict[str, str]]] = {}
    for label, pks in pks_by_label.items():
        if label not in registry:
            raise BundleError(f"Link {links[0].seq}..: {label} is not chained here; run verify_chain.")
        rows[label] = read_rows(registry[label].model, pks)
        commitments[label] = commitments_of(label, pks) if registry[label].personal else {}
    lines = []
    for link in links:
        row = rows[link.model_label].get(link.row_pk)
        attnames = schemas.get(link.schema_id)
        if row is None or attnames is None or any(name not in row for name in attnames):
            raise BundleError(f"Link {link.seq}: its {link.model_label} row {link.row_pk} is gone; run verify_chain.")
        # Personal fields as their commitments (never the values): purging them changes nothing here.
        data = canonical_json(hashed_fields(row, attnames, commitments[link.model_label].get(link.row_pk, {})))
        if sha256_hex(data) != link.row_hash:
            raise BundleError(f"Link {link.seq}: its row no longer hashes to the chain; run verify_chain.")
        lines.append(data + b"\n")
    return lines


def _checkpoints(first: int, last: int) -> list[Checkpoint]:
    """The first trusted checkpoint of each tree size first..last, then the sealing one."""
    if first > last:
        return []
    chosen: dict[int, Checkpoint] = {}
    in_range = Checkpoint.objects.select_related("key").filter(Q(tree_size__gte=first, tree_size__lte=last))
    for checkpoint in _trusted(list(in_range.order_by("tree_size", "id"))):
        chosen.setdefault(checkpoint.tree_size, checkpoint)
    if last not in chosen:
        later = Checkpoint.objects.select_related("key").filter(tree_size__gt=last).order_by("tree_size", "id")
        seal = next((c for c in later.iterator(chunk_size=50) if c.key.trusted_at(c.signed_at)), None)
        if seal is None:
            raise BundleError(f"No trusted checkpoint covers link {last}.")
        chosen[seal.tree_size] = seal
    return [chosen[size] for size in sorted(chosen)]


def _keys(checkpoints: list[Checkpoint]) -> list[dict[str, Any]]:
    """The signing keys of the checkpoints, with the ends of their periods that fall by the
    last of them (a later rotation or revocation does not bear on these checkpoints)."""
    if not checkpoints:
        return []
    until = max(c.signed_at for c in checkpoints)
    keys = {c.key.pk: c.key for c in checkpoints}
    out = []
    for key in sorted(keys.values(), key=lambda k: (k.valid_from, k.pk)):
        revoked = key.revoked_from is not None and key.revoked_from <= until
        out.append(
            {
                "name": key.name,
                "key_hash": key.key_hash,
                "verifier_key": key.vkey,
                "valid_from": utc_iso(key.valid_from),
                "valid_until": utc_iso(key.valid_until) if key.valid_until and key.valid_until <= until else None,
                "revoked_from": utc_iso(key.revoked_from) if revoked and key.revoked_from else None,
                "revoked_reason": key.revoked_reason if revoked else None,
            }
        )
    return out


def _neighbour(seq: int, seal: int) -> dict[str, Any] | None:
    """Link `seq` as its leaf and its inclusion proof in the sealing tree, if it is in it."""
    link = ChainLink.objects.filter(seq=seq).first() if 1 <= seq <= seal else None
    if link is None:
        return None
    return {
        "leaf": link_leaf_bytes(link).decode("utf-8"),
        "audit_path": [node.hex() for node in inclusion_proof(seq, seal)],
    }


def _tree(first: int, last: int, checkpoints: list[Checkpoint]) -> dict[str, Any]:
    """How the range's links tie to the checkpoints: the tree before them, the proof to
    the seal, and the links just outside the range, proven in the sealed tree (which
    shows that the range is complete at both ends)."""
    if first > last:
        return {
            "prefix_size": 0,
            "prefix_nodes": [],
            "seal_size": 0,
            "seal_consistency": [],
            "before": None,
            "after": None,
        }
    prefix = tlog.range_nodes(0, first - 1)
    found = node_getter()(prefix)
    seal = checkpoints[-1].tree_size
    return {
        "prefix_size": first - 1,
        "prefix_nodes": [found[node].hex() for node in prefix],
        "seal_size": seal,
        "seal_consistency": [node.hex() for node in consistency_proof(last, seal)] if seal > last else [],
        "before": _neighbour(first - 1, seal),
        "after": _neighbour(last + 1, seal),
    }


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


class _HashedFile:
    def __init__(self, path: Path) -> None:
        self.handle: IO[bytes] = path.open("wb")
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)

    def close(self) -> dict[str, Any]:
        self.handle.close()
        return {"sha256": self.digest.hexdigest(), "bytes": self.size}


def bundle_write(
    out_dir: Path,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write the bundle of the links chained between the two UTC dates (inclusive;
    both None: every link a checkpoint covers) into `out_dir`; returns its manifest.

    Reads in batches, so memory stays flat however long the range. Raises
    BundleError when a link's row no longer matches the chain. `progress`, if
    given, is called with the last sequence number written after each batch.
    """
    span = bundle_range(date_from=date_from, date_to=date_to)
    if span.first > span.last and span.left_out:
        raise BundleError(
            "No checkpoint signed by a trusted key covers the links of this range yet: sign one with "
            "`manage.py evidence_checkpoint`, or wait for the hourly one."
        )
    checkpoints = _checkpoints(span.first, span.last)
    out_dir.mkdir(parents=True, exist_ok=True)
    schemas = {s.pk: s.attnames for s in ChainSchema.objects.all()}
    links_file, rows_file = _HashedFile(out_dir / "links.jsonl"), _HashedFile(out_dir / "rows.jsonl")
    count, prev_hash, last_hash = 0, None, None
    try:
        for batch in _links(span.first, span.last):
            if prev_hash is None:
                prev_hash = batch[0].prev_hash
            for link in batch:
                links_file.write(link_leaf_bytes(link) + b"\n")
            for line in _row_lines(batch, schemas):
                rows_file.write(line)
            count += len(batch)
            last_hash = batch[-1].link_hash
            if progress is not None:
                progress(batch[-1].seq)
    finally:
        files = {"links.jsonl": links_file.close(), "rows.jsonl": rows_file.close()}
    expected = max(span.last - span.first + 1, 0)
    if count != expected:
        raise BundleError(f"Links {span.first}..{span.last} should be {expected}, found {count}; run verify_chain.")
    contents = {
        "checkpoints.txt": "\n".join(c.note for c in checkpoints).encode("utf-8"),
        "tree.json": _json_bytes(_tree(span.first, span.last, checkpoints)),
        "keys.json": _json_bytes(_keys(checkpoints)),
    }
    for name, data in contents.items():
        (out_dir / name).write_bytes(data)
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    manifest = {
        "bundle_format": BUNDLE_FORMAT,
        "origin": settings.EVIDENCE_LOG_ORIGIN,
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
        "first_seq": span.first if count else None,
        "last_seq": span.last if count else None,
        "prev_hash": prev_hash,
        "last_hash": last_hash,
        "links": count,
        "rows": count,
        "checkpoints": len(checkpoints),
        "keys": len(_keys(checkpoints)),
        "files": dict(sorted(files.items())),
    }
    (out_dir / MANIFEST).write_bytes(_json_bytes(manifest))
    return manifest | {"left_out": span.left_out}


# A fixed time for every tar entry, so the archive's bytes depend only on the files.
TAR_MTIME = 946684800  # 2000-01-01T00:00:00Z


def bundle_tar(src_dir: Path, out: BinaryIO, *, prefix: str) -> None:
    """A tar (POSIX ustar) of the bundle's files under `prefix/`: sorted entries, fixed
    times, owner and mode, so the same files always give the same bytes."""
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted([*FILES, MANIFEST]):
            data = (src_dir / name).read_bytes()
            info = tarfile.TarInfo(f"{prefix}/{name}")
            info.size, info.mtime, info.mode = len(data), TAR_MTIME, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
