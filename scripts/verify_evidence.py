#!/usr/bin/env python3
"""Verify the trust center's evidence offline: Python 3.11+ and `cryptography`, no Django, no database.

    verify_evidence.py BUNDLE --key KEY                      # a bundle (directory or .tar)
    verify_evidence.py --inclusion PROOF.json --key KEY [BUNDLE]   # /evidence/proof/inclusion/<seq>
    verify_evidence.py --consistency PROOF.json --key KEY [--checkpoint OLD.txt]

KEY is a verifier key (`name+keyid+base64`), a file of them (one a line), or a
JSON file with their validity periods: `/evidence/keys`, or `trust.json` (its
`evidence_log.signing_keys`). Give --key more than once for several keys.
`--checkpoint FILE` adds signed checkpoints you kept yourself (one or more
notes): a proof may then lean on them instead of the ones it carries.

It uses the project's own definitions, by path, never the application:
`tlog.py` (the Merkle tree, proofs and signed notes) and `canonical.py` (what
a link's hash covers), looked for next to this script, then in
`../evidence/`. Exit 0 when everything verifies; 1 with one line per problem
(file, line and link, kind); 2 for a usage error.
"""

import argparse
import base64
import binascii
import hashlib
import importlib.util
import json
import sys
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

MAX_REPORTED = 50
BUNDLE_FILES = ("checkpoints.txt", "keys.json", "links.jsonl", "rows.jsonl", "tree.json")
MANIFEST = "manifest.json"
HEX64 = frozenset("0123456789abcdef")


def _load(name: str) -> ModuleType:
    here = Path(__file__).resolve().parent
    for folder in (here, here.parent / "evidence"):
        path = folder / f"{name}.py"
        if path.is_file():
            spec = importlib.util.spec_from_file_location(f"_offline_{name}", path)
            if spec is None or spec.loader is None:
                break
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # dataclasses look their module up
            try:
                spec.loader.exec_module(module)
            except ImportError as exc:
                sys.exit(f"verify_evidence: {exc}; it needs the cryptography package (pip install cryptography)")
            return module
    sys.exit(f"verify_evidence: cannot find {name}.py next to this script or in ../evidence/")


tlog = _load("tlog")
canonical = _load("canonical")


@dataclass(frozen=True)
class Problem:
    where: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.detail}"


class Failed(Exception):
    """Stops a check that cannot go on; the problems found so far are reported."""


@dataclass(frozen=True)
class TrustedKey:
    verifier: Any  # tlog.Verifier
    periods_known: bool
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked_from: datetime | None = None

    def trusted_at(self, moment: datetime) -> bool:
        if self.valid_from is not None and moment < self.valid_from:
            return False
        if self.valid_until is not None and moment > self.valid_until:
            return False
        return self.revoked_from is None or moment < self.revoked_from


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _key_record(record: dict[str, Any]) -> TrustedKey:
    return TrustedKey(
        verifier=tlog.verifier_from_string(record["verifier_key"]),
        periods_known=True,
        valid_from=_time(record.get("valid_from")),
        valid_until=_time(record.get("valid_until")),
        revoked_from=_time(record.get("revoked_from")),
    )


def load_keys(values: list[str]) -> list[TrustedKey]:
    """The keys the auditor trusts, from --key values (a key, or a file of keys)."""
    keys: list[TrustedKey] = []
    for value in values:
        try:
            is_file = Path(value).is_file()
        except OSError:  # a key string too long to be a file name
            is_file = False
        text = Path(value).read_text(encoding="utf-8") if is_file else value
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = None
        if isinstance(document, dict):
            document = document.get("evidence_log", document).get("signing_keys")
        if isinstance(document, list):
            keys += [_key_record(record) for record in document]
            continue
        for line in text.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                keys.append(TrustedKey(verifier=tlog.verifier_from_string(line.strip()), periods_known=False))
    if not keys:
        raise ValueError("no key given")
    return keys


def _note_label(index: int, note: str) -> str:
    first = note.split("\n", 2)
    size = first[1] if len(first) > 1 else "?"
    return f"checkpoint {index + 1} (tree size {size})"


def open_checkpoint(
    note: str, keys: list[TrustedKey], where: str, periods: dict[str, TrustedKey], *, periods_required: bool
) -> Any:
    """The parsed checkpoint if a trusted key signed it while it was valid; else raises Failed.

    A key given bare (without its period) takes its period from `periods` (a bundle's
    keys.json); with `periods_required` off (a proof), it is trusted at any time."""
    try:
        checkpoint, opened = tlog.checkpoint_open(note, [k.verifier for k in keys])
    except tlog.UnknownKey as exc:
        raise Failed(Problem(where, "unknown key", f"signed by no key given with --key ({exc})")) from exc
    except tlog.BadSignature as exc:
        raise Failed(Problem(where, "bad signature", f"{exc}: the note was changed or forged")) from exc
    except tlog.NoteError as exc:
        raise Failed(Problem(where, "malformed checkpoint", str(exc))) from exc
    signed_at = checkpoint.signed_at
    for name, ident in opened.verified:
        key = next(k for k in keys if (k.verifier.name, k.verifier.key_id) == (name, ident))
        period = key if key.periods_known else periods.get(key.verifier.vkey)
        if period is None and not periods_required:
            continue
        if period is None:
            raise Failed(Problem(where, "key period unknown", f"no validity period for {name}+{ident:08x}"))
        if signed_at is None or not period.trusted_at(signed_at):
            when = signed_at.isoformat() if signed_at else "an unknown time"
            raise Failed(
                Problem(where, "key not valid", f"{name}+{ident:08x} was not trusted at {when} (replaced or revoked)")
            )
    return checkpoint


# --- Bundles --------------------------------------------------------------------------------


def read_bundle(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}
    files: dict[str, bytes] = {}
    with tarfile.open(path, mode="r:") as tar:
        for member in tar.getmembers():
            if member.isfile():
                name = member.name.rsplit("/", 1)[-1]
                if name in files:
                    raise tarfile.TarError(f"two entries named {name}")
                extracted = tar.extractfile(member)
                if extracted is not None:
                    files[name] = extracted.read()
    return files


def _lines(data: bytes, name: str) -> list[bytes]:
    if data and not data.endswith(b"\n"):
        raise Failed(Problem(name, "truncated", "the last line does not end with a newline"))
    return data.split(b"\n")[:-1] if data else []


def _json_line(line: bytes, where: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Failed(Problem(where, "not JSON", str(exc))) from exc
    if not isinstance(value, dict):
        raise Failed(Problem(where, "not a JSON object", line[:60].decode("utf-8", "replace")))
    return value


class BundleCheck:
    def __init__(self, files: dict[str, bytes], keys: list[TrustedKey]) -> None:
        self.files, self.keys = files, keys
        self.problems: list[Problem] = []
        self.manifest: dict[str, Any] = {}
        self.links: list[dict[str, Any]] = []
        self.leaves: list[bytes] = []
        self.checkpoints: list[Any] = []
        self.notes: list[str] = []

    def report(self, where: str, kind: str, detail: str) -> None:
        self.problems.append(Problem(where, kind, detail))

    def run(self) -> list[Problem]:
        for step in (self.check_manifest, self.check_links, self.check_rows, self.check_checkpoints, self.check_tree):
            try:
                step()
            except Failed as exc:
                self.problems.append(exc.args[0])
        return self.problems

    def check_manifest(self) -> None:
        data = self.files.get(MANIFEST)
        if data is None:
            raise Failed(Problem(MANIFEST, "missing", "the bundle has no manifest"))
        manifest = _json_line(data, MANIFEST)
        canonical_bytes = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
        if canonical_bytes != data:
            self.report(MANIFEST, "altered", "not in the form the exporter writes (edited by hand?)")
        if manifest.get("bundle_format") != 1:
            raise Failed(Problem(MANIFEST, "unknown format", f"bundle_format {manifest.get('bundle_format')!r}"))
        self.manifest = manifest
        listed = manifest.get("files")
        if not isinstance(listed, dict) or sorted(listed) != sorted(BUNDLE_FILES):
            raise Failed(Problem(MANIFEST, "altered", f"must list exactly {', '.join(BUNDLE_FILES)}"))
        for name in BUNDLE_FILES:
            content = self.files.get(name)
            if content is None:
                self.report(name, "missing", "the manifest lists it but the bundle lacks it")
            elif hashlib.sha256(content).hexdigest() != listed[name].get("sha256"):
                self.report(name, "altered", "its SHA-256 differs from the manifest's")
            elif len(content) != listed[name].get("bytes"):
                self.report(MANIFEST, "altered", f"the size it gives for {name} is wrong")
        for name in sorted(set(self.files) - {*BUNDLE_FILES, MANIFEST}):
            self.report(name, "unexpected file", "not part of a bundle")
        for field in ("links", "rows"):
            if not isinstance(manifest.get(field), int):
                raise Failed(Problem(MANIFEST, "altered", f"{field} is not a count"))

    def check_links(self) -> None:
        manifest = self.manifest
        lines = _lines(self.files.get("links.jsonl", b""), "links.jsonl")
        if len(lines) != manifest["links"]:
            self.report(MANIFEST, "count", f"says {manifest['links']} links, links.jsonl has {len(lines)}")
        first = manifest.get("first_seq")
        if lines and not isinstance(first, int):
            raise Failed(Problem(MANIFEST, "altered", f"first_seq {first!r} is not a sequence number"))
        expected_seq: int = first if isinstance(first, int) else 1
        prev_hash = manifest.get("prev_hash")
        date_from, date_to = manifest.get("from"), manifest.get("to")
        for number, line in enumerate(lines, start=1):
            if len(self.problems) >= MAX_REPORTED:
                return
            link = _json_line(line, f"links.jsonl line {number}")
            where = f"links.jsonl line {number} (link {link.get('seq')})"
            self.links.append(link)
            self.leaves.append(line)
            if canonical.canonical_json(link) != line:
                self.report(where, "altered", "not in canonical form: the line is not the link's leaf")
            fields = {k: v for k, v in link.items() if k != "link_hash"}
            try:
                fields["model_label"] = fields.pop("model")
                recomputed = canonical.link_digest(**fields)
            except (KeyError, TypeError, ValueError) as exc:
                self.report(where, "malformed link", str(exc))
                continue
            if recomputed != link.get("link_hash"):
                self.report(where, "link altered", "its link_hash is not the hash of its fields")
            if link.get("seq") != expected_seq:
                self.report(where, "sequence", f"expected link {expected_seq} (a link is missing, added or moved)")
            if link.get("prev_hash") != prev_hash:
                self.report(where, "chain broken", "its prev_hash is not the previous link's hash")
            day = str(link.get("recorded_at", ""))[:10]
            if date_from is not None and date_to is not None and not date_from <= day <= date_to:
                self.report(where, "out of range", f"chained on {day}, outside {date_from}..{date_to}")
            expected_seq = (link["seq"] if isinstance(link.get("seq"), int) else 0) + 1
            prev_hash = link.get("link_hash")
        if lines:
            if manifest.get("last_seq") != expected_seq - 1:
                self.report(MANIFEST, "altered", f"last_seq {manifest.get('last_seq')} is not the last link's")
            if manifest.get("last_hash") != prev_hash:
                self.report(MANIFEST, "altered", "last_hash is not the last link's hash")

    def check_rows(self) -> None:
        lines = _lines(self.files.get("rows.jsonl", b""), "rows.jsonl")
        if len(lines) != len(self.links) or self.manifest["rows"] != len(lines):
            self.report("rows.jsonl", "count", f"{len(lines)} rows for {len(self.links)} links")
        for number, (line, link) in enumerate(zip(lines, self.links, strict=False), start=1):
            if len(self.problems) >= MAX_REPORTED:
                return
            if hashlib.sha256(line).hexdigest() != link.get("row_hash"):
                self.report(
                    f"rows.jsonl line {number} (link {link.get('seq')}, {link.get('model')} row {link.get('row_pk')})",
                    "row altered",
                    "it does not hash to the link's row_hash",
                )

    def check_checkpoints(self) -> None:
        periods: dict[str, TrustedKey] = {}
        try:
            records = json.loads(self.files.get("keys.json", b"[]"))
            for record in records:
                key = _key_record(record)
                if key.verifier.key_hash != record.get("key_hash") or key.verifier.name != record.get("name"):
                    self.report("keys.json", "altered", f"name or key hash of {record.get('verifier_key')} is wrong")
                periods[key.verifier.vkey] = key
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError, AttributeError, KeyError, ValueError) as exc:
            self.report("keys.json", "malformed", str(exc))
        if len(periods) != self.manifest.get("keys"):
            self.report(MANIFEST, "count", f"says {self.manifest.get('keys')} keys, keys.json has {len(periods)}")
        text = self.files.get("checkpoints.txt", b"").decode("utf-8", "replace")
        notes = tlog.split_notes(text)
        if len(notes) != self.manifest.get("checkpoints"):
            self.report(MANIFEST, "count", f"says {self.manifest.get('checkpoints')} checkpoints, found {len(notes)}")
        for index, note in enumerate(notes):
            where = f"checkpoints.txt {_note_label(index, note)}"
            try:
                checkpoint = open_checkpoint(note, self.keys, where, periods, periods_required=True)
            except Failed as exc:
                self.problems.append(exc.args[0])
                continue
            if checkpoint.origin != self.manifest.get("origin"):
                self.report(where, "wrong log", f"origin {checkpoint.origin!r}, the manifest's is different")
            self.checkpoints.append((where, checkpoint))
        if self.links and not self.checkpoints:
            raise Failed(Problem("checkpoints.txt", "unsigned", "no verified checkpoint covers the links"))

    def check_tree(self) -> None:
        if not self.links or not self.checkpoints:
            return
        try:
            tree = json.loads(self.files["tree.json"])
            prefix_size, nodes = int(tree["prefix_size"]), [bytes.fromhex(h) for h in tree["prefix_nodes"]]
            seal_size, seal_proof = int(tree["seal_size"]), [bytes.fromhex(h) for h in tree["seal_consistency"]]
        except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
            raise Failed(Problem("tree.json", "malformed", str(exc))) from exc
        first = self.manifest.get("first_seq")
        if prefix_size != (first or 1) - 1:
            raise Failed(Problem("tree.json", "altered", f"prefix_size {prefix_size} does not end before link {first}"))
        levels = [level for level, _ in tlog.range_nodes(0, prefix_size)]
        if len(nodes) != len(levels) or any(len(n) != tlog.HASH_SIZE for n in nodes):
            raise Failed(Problem("tree.json", "altered", "prefix_nodes do not fit the prefix size"))
        frontier = tlog.Frontier(size=prefix_size, hashes=dict(zip(levels, nodes, strict=True)))
        by_size: dict[int, list[tuple[str, Any]]] = {}
        for where, checkpoint in self.checkpoints:
            by_size.setdefault(checkpoint.size, []).append((where, checkpoint))
        last = prefix_size + len(self.leaves)
        for size in by_size:
            if not prefix_size < size <= last and size != seal_size:
                self.report(by_size[size][0][0], "out of range", f"tree size {size} is not within the bundle")
        for leaf in self.leaves:
            frontier.append(tlog.leaf_hash(leaf))
            for where, checkpoint in by_size.get(frontier.size, []):
                if checkpoint.root != frontier.root():
                    self.report(where, "root mismatch", "its root is not the tree of the bundle's links")
        if seal_size not in by_size or seal_size < last:
            raise Failed(Problem("tree.json", "unsealed", f"no checkpoint of the seal size {seal_size} >= {last}"))
        where, seal = by_size[seal_size][0]
        if seal_size > last:
            try:
                tlog.verify_consistency(last, seal_size, frontier.root(), seal.root, seal_proof)
            except tlog.ProofError as exc:
                self.report("tree.json", "seal proof", f"the links do not extend to {where}: {exc}")
        self.check_neighbour(tree.get("before"), prefix_size, seal_size, seal.root)
        self.check_neighbour(tree.get("after"), last + 1, seal_size, seal.root)

    def check_neighbour(self, proven: Any, seq: int, seal_size: int, root: bytes) -> None:
        """The link just before or after the range, proven in the sealed tree: its hash ties to
        the range's ends, and its day lies outside the range, so no link of the range is missing."""
        side = "before" if seq < (self.manifest.get("first_seq") or 1) else "after"
        where = f"tree.json {side} (link {seq})"
        if not 1 <= seq <= seal_size:
            if proven is not None:
                self.report(where, "altered", "there is no such link in the sealed tree")
            elif side == "after" and self.manifest.get("to") is not None:
                self.notes.append(f"no link after {seq - 1} is signed yet: the range may go on")
            return
        if not isinstance(proven, dict):
            self.report(where, "missing", f"no proof of the link {side} the range: it may not be complete")
            return
        try:
            leaf = str(proven["leaf"]).encode("utf-8")
            link = _json_line(leaf, where)
            path = [bytes.fromhex(node) for node in proven["audit_path"]]
            tlog.verify_inclusion(seq - 1, seal_size, tlog.leaf_hash(leaf), path, root)
        except Failed as exc:
            self.problems.append(exc.args[0])
            return
        except (KeyError, TypeError, ValueError) as exc:
            self.report(where, "proof fails", f"{type(exc).__name__}: {exc}")
            return
        day = str(link.get("recorded_at", ""))[:10]
        date_from, date_to = self.manifest.get("from"), self.manifest.get("to")
        if side == "before":
            if link.get("link_hash") != self.manifest.get("prev_hash"):
                self.report(MANIFEST, "altered", "prev_hash is not the hash of the link before the range")
            if date_from is not None and day >= date_from:
                self.report(where, "incomplete", f"chained on {day}, inside the range: links of the range are missing")
        else:
            if link.get("prev_hash") != self.manifest.get("last_hash"):
                self.report(MANIFEST, "altered", "last_hash is not the hash the link after the range follows")
            if date_to is not None and day <= date_to:
                self.report(where, "incomplete", f"chained on {day}, inside the range: links of the range are missing")


def verify_bundle(path: Path, keys: list[TrustedKey]) -> tuple[list[Problem], str, dict[int, bytes]]:
    """The problems found, the summary line, and the bundle's leaves by sequence number."""
    try:
        files = read_bundle(path)
    except (OSError, tarfile.TarError) as exc:
        return [Problem(str(path), "unreadable", str(exc))], "", {}
    check = BundleCheck(files, keys)
    problems = check.run()
    leaves = {
        link["seq"]: leaf
        for link, leaf in zip(check.links, check.leaves, strict=True)
        if isinstance(link.get("seq"), int)
    }
    m = check.manifest
    span = f"links {m.get('first_seq')}..{m.get('last_seq')}" if m.get("links") else "no links"
    notes = "".join(f"; {note}" for note in check.notes)
    summary = f"Bundle OK: {m.get('links')} links ({span}), {len(check.checkpoints)} signed checkpoints verified{notes}"
    return problems, summary, leaves


# --- Proofs as the site serves them --------------------------------------------------------


def _b64(text: Any, where: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Failed(Problem(where, "malformed", f"not base64: {str(text)[:40]!r}")) from exc


def _proof_checkpoint(note: str | None, size: int, keys: list[TrustedKey], kept: list[str], where: str) -> Any:
    """The checkpoint of `size`: one kept by the auditor if any, else the one the proof carries."""
    for index, text in enumerate(kept):
        checkpoint = open_checkpoint(text, keys, f"--checkpoint note {index + 1}", {}, periods_required=False)
        if checkpoint.size == size:
            return checkpoint
    if note is None:
        raise Failed(
            Problem(where, "unsigned", f"no signed checkpoint of tree size {size}; give one with --checkpoint")
        )
    checkpoint = open_checkpoint(note, keys, where, {}, periods_required=False)
    if checkpoint.size != size:
        raise Failed(Problem(where, "wrong size", f"the checkpoint is of size {checkpoint.size}, the proof of {size}"))
    return checkpoint


def verify_inclusion(
    proof: dict[str, Any], keys: list[TrustedKey], kept: list[str], bundle_leaves: dict[int, bytes]
) -> str:
    """The proof's leaf is in the signed tree. The site shows a leaf's fields only for
    publications; for any other record it gives the leaf hash, which a bundle holding
    the link (given as BUNDLE) ties to the link's fields."""
    name = "inclusion proof"
    size, index = int(proof["tree_size"]), int(proof["leaf_index"])
    seq = index + 1
    leaf = _b64(proof.get("leaf_hash"), f"{name} leaf_hash")
    if proof.get("leaf_bytes") is not None:
        leaf_bytes = _b64(proof["leaf_bytes"], f"{name} leaf_bytes")
        shown = proof.get("leaf")
        if not isinstance(shown, dict) or canonical.canonical_json(shown) != leaf_bytes:
            raise Failed(Problem(f"{name} leaf", "altered", "leaf and leaf_bytes differ"))
        fields = {k: v for k, v in shown.items() if k != "link_hash"}
        fields["model_label"] = fields.pop("model", None)
        if canonical.link_digest(**fields) != shown.get("link_hash"):
            raise Failed(Problem(f"{name} leaf", "link altered", "its link_hash is not the hash of its fields"))
        if shown.get("seq") != seq or tlog.leaf_hash(leaf_bytes) != leaf:
            raise Failed(Problem(f"{name} leaf", "altered", f"the leaf is not link {seq}'s leaf hash"))
    if seq in bundle_leaves and tlog.leaf_hash(bundle_leaves[seq]) != leaf:
        raise Failed(Problem(f"{name} leaf_hash", "differs", f"link {seq} of the bundle is not the link proven"))
    checkpoint = _proof_checkpoint(proof.get("checkpoint"), size, keys, kept, f"{name} checkpoint")
    path = [_b64(node, f"{name} audit_path") for node in proof.get("audit_path", [])]
    try:
        tlog.verify_inclusion(index, size, leaf, path, checkpoint.root)
    except tlog.ProofError as exc:
        raise Failed(Problem(f"{name} audit_path", "proof fails", str(exc))) from exc
    if proof.get("leaf_bytes") is not None or seq in bundle_leaves:
        return f"Inclusion OK: link {seq} is in the signed tree of {size} links"
    return f"Inclusion OK: leaf {seq} is in the signed tree of {size} links (give the bundle holding it to check its fields)"


def verify_consistency(
    proof: dict[str, Any], keys: list[TrustedKey], kept: list[str], bundle_leaves: dict[int, bytes]
) -> str:
    name = "consistency proof"
    size1, size2 = int(proof["from"]), int(proof["to"])
    old = _proof_checkpoint(proof.get("from_checkpoint"), size1, keys, kept, f"{name} from_checkpoint")
    new = _proof_checkpoint(proof.get("to_checkpoint"), size2, keys, kept, f"{name} to_checkpoint")
    path = [_b64(node, f"{name} proof") for node in proof.get("proof", [])]
    try:
        tlog.verify_consistency(size1, size2, old.root, new.root, path)
    except tlog.ProofError as exc:
        raise Failed(Problem(f"{name} proof", "proof fails", str(exc))) from exc
    return f"Consistency OK: the signed tree of {size2} links extends the signed tree of {size1}"


# --- Command line ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("bundle", nargs="?", type=Path, help="a bundle directory or .tar")
    parser.add_argument("--key", action="append", required=True, help="verifier key, or a file of keys")
    parser.add_argument("--inclusion", type=Path, metavar="PROOF.json", help="an inclusion proof to check")
    parser.add_argument("--consistency", type=Path, metavar="PROOF.json", help="a consistency proof to check")
    parser.add_argument("--checkpoint", type=Path, action="append", default=[], help="signed checkpoints you kept")
    args = parser.parse_args(argv)
    if not (args.bundle or args.inclusion or args.consistency):
        parser.error("give a BUNDLE, --inclusion or --consistency")
    try:
        keys = load_keys(args.key)
        kept = [note for path in args.checkpoint for note in tlog.split_notes(path.read_text(encoding="utf-8"))]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        parser.error(f"--key/--checkpoint: {exc}")
    problems: list[Problem] = []
    passed: list[str] = []
    leaves: dict[int, bytes] = {}
    if args.bundle:
        found, summary, leaves = verify_bundle(args.bundle, keys)
        problems += found
        passed += [] if found else [summary]
    for path, check in ((args.inclusion, verify_inclusion), (args.consistency, verify_consistency)):
        if path is None:
            continue
        try:
            proof = json.loads(path.read_text(encoding="utf-8"))
            passed.append(check(proof, keys, kept, leaves))
        except Failed as exc:
            problems.append(exc.args[0])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            problems.append(Problem(str(path), "malformed", f"{type(exc).__name__}: {exc}"))
    for line in passed:
        print(line)
    if problems:
        for problem in problems:
            print(f"FAILED {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
