"""The transparency log over the evidence chain: Merkle tree, proofs, signed checkpoints.

Pure Python (the standard library and `cryptography` only, no Django), so an
offline verifier can import it without the application.

Merkle tree (RFC 6962 §2.1, RFC 9162 §2.1): leaf i is `leaf_hash(bytes of
link i+1)`, `leaf_hash(d) = SHA-256(0x00 || d)`, `node_hash(l, r) =
SHA-256(0x01 || l || r)`, and the root of n leaves splits at the largest
power of two below n. A *perfect subtree* is a complete subtree of 2**level
leaves starting at leaf `index * 2**level`; its `(level, index)` is a
`NodeId`. Every hash a proof needs is a perfect subtree or is folded from a
few of them, so storage keeps exactly the perfect subtrees and a proof reads
O(log n) of them, asked for in one batch through a `NodeGetter`.

Checkpoints (C2SP tlog-checkpoint over C2SP signed-note, the format of Go's
`golang.org/x/mod/sumdb/note`): the note text is

    <origin>
    <tree size>
    <base64 root hash>
    time <UTC signing time, RFC 3339, whole seconds>

followed by a blank line and one Ed25519 signature line
`— <key name> <base64(4-byte key id || 64-byte signature)>`. The `time`
line is an extension line: it makes the signing time part of what is signed.
"""

import base64
import binascii
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]  # (level, index): leaves index*2**level .. (index+1)*2**level - 1
NodeGetter = Callable[[Sequence[NodeId]], Mapping[NodeId, bytes]]


class ProofError(ValueError):
    """A proof was asked for sizes or indexes the tree cannot answer, or does not verify."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[NodeId]:
    """The perfect subtrees that make up the tree over leaves start..end-1, largest first.

    `start` must be where an RFC 6962 subtree of that range begins (a multiple
    of the largest power of two not above end - start), which holds for every
    range a proof or a root uses.
    """
    nodes: list[NodeId] = []
    while start < end:
        level = (end - start).bit_length() - 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The root over consecutive perfect subtrees, largest first (right to left)."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _hash_ranges(ranges: Sequence[tuple[int, int]], get: NodeGetter) -> list[bytes]:
    """The hash of each range, with every perfect subtree fetched in one call."""
    wanted = [range_nodes(start, end) for start, end in ranges]
    found = get(sorted({node for nodes in wanted for node in nodes}))
    try:
        return [fold([found[node] for node in nodes]) for nodes in wanted]
    except KeyError as exc:
        raise ProofError(f"the stored tree lacks subtree {exc.args[0]}") from exc


def root_hash(size: int, get: NodeGetter) -> bytes:
    """The root of the tree's first `size` leaves."""
    if size < 0:
        raise ProofError("tree size must not be negative")
    return _hash_ranges([(0, size)], get)[0]


def root_of_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """The root over the given leaf hashes (MTH of RFC 6962), computed in memory."""
    frontier = Frontier()
    for leaf in leaf_hashes:
        frontier.append(leaf)
    return frontier.root()


def _path_ranges(index: int, start: int, end: int) -> list[tuple[int, int]]:
    """PATH(m, D[start:end]) of RFC 9162 §2.1.3.1 as the ranges whose hashes it lists."""
    ranges: list[tuple[int, int]] = []
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def inclusion_proof(index: int, size: int, get: NodeGetter) -> list[bytes]:
    """The audit path of leaf `index` (0-based) in the tree of `size` leaves."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    return _hash_ranges(_path_ranges(index, 0, size), get)


def _subproof_ranges(m: int, start: int, end: int) -> list[tuple[int, int]]:
    """SUBPROOF(m, D[start:end], true) of RFC 9162 §2.1.4.1 as ranges."""
    ranges: list[tuple[int, int]] = []
    complete = True
    while True:
        n = end - start
        if m == n:
            if not complete:
                ranges.append((start, end))
            return ranges[::-1]
        k = _split(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            complete = False


def consistency_proof(size1: int, size2: int, get: NodeGetter) -> list[bytes]:
    """The proof that the tree of `size2` leaves extends the tree of `size1` leaves."""
    if not 0 < size1 <= size2:
        raise ProofError(f"a consistency proof needs 0 < from <= to, not from {size1} to {size2}")
    if size1 == size2:
        return []
    return _hash_ranges(_subproof_ranges(size1, 0, size2), get)


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2; raises ProofError unless the leaf hash is at `index` under `root`."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != HASH_SIZE or sn == 0:
            raise ProofError("the inclusion proof has the wrong length or a malformed hash")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is too short")
    if r != root:
        raise ProofError("the inclusion proof does not lead to the root")


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> None:
    """RFC 9162 §2.1.4.2; raises ProofError unless the tree `root2` extends the tree `root1`."""
    if not 0 <= size1 <= size2:
        raise ProofError(f"a consistency proof needs from <= to, not from {size1} to {size2}")
    if size1 == size2:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if root1 != root2:
            raise ProofError("the roots of two trees of the same size differ")
        return
    if size1 == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("the consistency proof is empty or holds a malformed hash")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    if fr != root1:
        raise ProofError("the consistency proof does not lead to the first root")
    if sr != root2:
        raise ProofError("the consistency proof does not lead to the second root")


def frontier_nodes(size: int) -> list[NodeId]:
    """The perfect subtrees along the right edge of a tree of `size` leaves, largest first."""
    return range_nodes(0, size)


@dataclass
class Frontier:
    """The right edge of a growing tree: enough to append leaves and to compute the root.

    `append` returns the perfect subtrees the new leaf completes (the leaf
    itself first), which is what storage writes.
    """

    size: int = 0
    hashes: dict[int, bytes] = field(default_factory=dict)  # level -> hash of the edge node at that level

    @classmethod
    def load(cls, size: int, get: NodeGetter) -> "Frontier":
        nodes = frontier_nodes(size)
        found = get(nodes)
        try:
            return cls(size=size, hashes={level: found[(level, index)] for level, index in nodes})
        except KeyError as exc:
            raise ProofError(f"the stored tree lacks subtree {exc.args[0]}") from exc

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        index, level, current = self.size, 0, leaf
        created = [(0, index, leaf)]
        while (index >> level) & 1:
            current = node_hash(self.hashes.pop(level), current)
            level += 1
            created.append((level, index >> level, current))
        self.hashes[level] = current
        self.size += 1
        return created

    def root(self) -> bytes:
        return fold([self.hashes[level] for level in sorted(self.hashes, reverse=True)])


# --- Signed notes (c2sp.org/signed-note) -------------------------------------------------

ALG_ED25519 = 0x01
SIGNATURE_PREFIX = "— "  # em dash, space
MAX_SIGNATURES = 100
PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"


class NoteError(ValueError):
    """A note, a key string or a checkpoint that is malformed or does not verify."""


class MalformedNote(NoteError):
    pass


class UnknownKey(NoteError):
    """No signature on the note is by a key the verifier knows."""


class BadSignature(NoteError):
    """A signature by a known key does not verify: the note was changed or forged."""


def valid_key_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def key_id(name: str, public_key: bytes, alg: int = ALG_ED25519) -> int:
    """The 32-bit key id of signed-note: SHA-256(name || '\\n' || alg || public key)[:4]."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _b64decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text) or len(text) % 4:
        raise binascii.Error("not standard padded base64")
    return base64.b64decode(text, validate=True)


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: int
    public_key: Ed25519PublicKey

    @property
    def key_hash(self) -> str:
        return f"{self.key_id:08x}"

    @property
    def vkey(self) -> str:
        """The verifier key string: `<name>+<hex key id>+<base64(0x01 || public key)>`."""
        material = base64.b64encode(bytes([ALG_ED25519]) + _public_bytes(self.public_key)).decode()
        return f"{self.name}+{self.key_hash}+{material}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    key_id: int
    private_key: Ed25519PrivateKey

    @property
    def key_hash(self) -> str:
        return f"{self.key_id:08x}"

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key_id, self.private_key.public_key())

    @property
    def skey(self) -> str:
        """The private key string: `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`."""
        seed = self.private_key.private_bytes_raw()
        return (
            f"{PRIVATE_KEY_PREFIX}{self.name}+{self.key_hash}+{base64.b64encode(bytes([ALG_ED25519]) + seed).decode()}"
        )

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


def _split_key(text: str, parts: int) -> list[str]:
    pieces = text.split("+", parts - 1)
    if len(pieces) != parts:
        raise NoteError("a key string has the form name+keyid+key")
    return pieces


def _key_material(name: str, hash16: str, key64: str) -> tuple[int, bytes]:
    if not valid_key_name(name) or not re.fullmatch(r"[0-9a-fA-F]{8}", hash16):
        raise NoteError("malformed key name or key id")
    try:
        material = _b64decode(key64)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("the key is not valid base64") from exc
    if len(material) != 33 or material[0] != ALG_ED25519:
        raise NoteError("not an Ed25519 key (algorithm byte 0x01 and 32 bytes)")
    return int(hash16, 16), material[1:]


def verifier_from_string(vkey: str) -> Verifier:
    """Parse `<name>+<hex key id>+<base64(0x01 || public key)>`; the id must match the key."""
    name, hash16, key64 = _split_key(vkey.strip(), 3)
    expected, raw = _key_material(name, hash16, key64)
    if key_id(name, raw) != expected:
        raise NoteError("the key id does not match the key")
    return Verifier(name, expected, Ed25519PublicKey.from_public_bytes(raw))


def signer_from_string(skey: str) -> Signer:
    """Parse `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`; the id must match."""
    text = skey.strip()
    if not text.startswith(PRIVATE_KEY_PREFIX):
        raise NoteError("a private key string starts with PRIVATE+KEY+")
    name, hash16, key64 = _split_key(text[len(PRIVATE_KEY_PREFIX) :], 3)
    expected, seed = _key_material(name, hash16, key64)
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    if key_id(name, _public_bytes(private_key.public_key())) != expected:
        raise NoteError("the key id does not match the key")
    return Signer(name, expected, private_key)


def signer_generate(name: str) -> Signer:
    if not valid_key_name(name):
        raise NoteError("a key name must be non-empty, without spaces or '+'")
    private_key = Ed25519PrivateKey.generate()
    return Signer(name, key_id(name, _public_bytes(private_key.public_key())), private_key)


def _check_text(text: str) -> None:
    for ch in text:
        if (ord(ch) < 0x20 and ch != "\n") or unicodedata.category(ch) == "Cs":
            raise MalformedNote("a note holds no control characters other than newline")


def note_sign(text: str, signer: Signer) -> str:
    """The signed note: the text (ending in a newline), a blank line, the signature line."""
    _check_text(text)
    if not text.endswith("\n"):
        raise MalformedNote("the note text must end with a newline")
    signature = signer.key_id.to_bytes(4, "big") + signer.sign(text.encode("utf-8"))
    return f"{text}\n{SIGNATURE_PREFIX}{signer.name} {base64.b64encode(signature).decode()}\n"


@dataclass(frozen=True)
class SignedNote:
    text: str
    # (name, key id) of the signatures that verified, and of those by keys not known.
    verified: tuple[tuple[str, int], ...]
    unverified: tuple[tuple[str, int], ...]


def note_open(note: str | bytes, verifiers: Iterable[Verifier]) -> SignedNote:
    """Parse a signed note and verify its signatures against the known keys.

    Refuses (raises) a malformed note, a note with a failing signature by a
    known key (`BadSignature`), and a note no known key signed (`UnknownKey`).
    Signatures by unknown keys are ignored, as the spec requires.
    """
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNote("a note is UTF-8") from exc
    _check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNote("no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise MalformedNote("the signature block must end with a newline")
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[tuple[str, int]] = []
    unverified: list[tuple[str, int]] = []
    unknown_lines: set[str] = set()
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote("too many signatures")
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise MalformedNote("a signature line starts with an em dash and a space")
        name, _, b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            raw = _b64decode(b64)
        except (binascii.Error, ValueError) as exc:
            raise MalformedNote("a signature is not valid base64") from exc
        if not valid_key_name(name) or len(raw) < 5:
            raise MalformedNote("malformed signature line")
        ident = (name, int.from_bytes(raw[:4], "big"))
        verifier = known.get(ident)
        if verifier is None:
            if line not in unknown_lines:
                unknown_lines.add(line)
                unverified.append(ident)
            continue
        if ident in verified:
            continue
        if not verifier.verify(text.encode("utf-8"), raw[4:]):
            raise BadSignature(f"invalid signature for key {name}+{ident[1]:08x}")
        verified.append(ident)
    if not verified:
        raise UnknownKey("no signature by a known key: " + ", ".join(f"{n}+{k:08x}" for n, k in unverified))
    return SignedNote(text=text, verified=tuple(verified), unverified=tuple(unverified))


# --- Checkpoints (c2sp.org/tlog-checkpoint) -----------------------------------------------

TIME_EXTENSION = "time "


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "\n".join(lines) + "\n"

    @property
    def signed_at(self) -> datetime | None:
        """The time of the `time` extension line, if the checkpoint has one."""
        for line in self.extensions:
            if line.startswith(TIME_EXTENSION):
                return datetime.strptime(line[len(TIME_EXTENSION) :], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return None


def checkpoint_text(origin: str, size: int, root: bytes, signed_at: datetime | None = None) -> str:
    extensions = (TIME_EXTENSION + format_time(signed_at),) if signed_at is not None else ()
    checkpoint = Checkpoint(origin, size, root, extensions)
    checkpoint_parse(checkpoint.text)  # refuse what we would refuse to read
    return checkpoint.text


def checkpoint_parse(text: str) -> Checkpoint:
    """Parse the text of a checkpoint note (without its signatures)."""
    if not text.endswith("\n"):
        raise MalformedNote("a checkpoint's text ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise MalformedNote("a checkpoint has an origin, a size, a root hash, and no empty line")
    origin, size_text, root_text, *extensions = lines
    if not re.fullmatch(r"0|[1-9][0-9]{0,18}", size_text):
        raise MalformedNote("the tree size is a decimal number without leading zeros")
    try:
        root = _b64decode(root_text)
    except (binascii.Error, ValueError) as exc:
        raise MalformedNote("the root hash is not valid base64") from exc
    if len(root) != HASH_SIZE:
        raise MalformedNote("the root hash is not 32 bytes")
    checkpoint = Checkpoint(origin, int(size_text), root, tuple(extensions))
    try:
        checkpoint.signed_at  # noqa: B018  (a malformed time line is refused here)
    except ValueError as exc:
        raise MalformedNote("the time line is not YYYY-MM-DDTHH:MM:SSZ") from exc
    return checkpoint


def checkpoint_open(note: str | bytes, verifiers: Iterable[Verifier]) -> tuple[Checkpoint, SignedNote]:
    """Verify a checkpoint note's signature, then parse its text."""
    opened = note_open(note, verifiers)
    return checkpoint_parse(opened.text), opened


def split_notes(text: str) -> list[str]:
    """The notes of a file where each ends with its signature lines and a blank line follows."""
    notes: list[str] = []
    current: list[str] = []
    in_signatures = False
    for line in text.splitlines(keepends=True):
        if in_signatures and not line.startswith(SIGNATURE_PREFIX):
            notes.append("".join(current))
            current, in_signatures = [], False
            if line == "\n":
                continue
        current.append(line)
        if line.startswith(SIGNATURE_PREFIX):
            in_signatures = True
    if current and "".join(current).strip():
        notes.append("".join(current))
    return notes
