"""The transparency log's primitives against published test vectors.

Merkle tree: the RFC 6962 reference tree of eight leaves (the leaf inputs,
every perfect subtree hash and the root of every size 0..8) and the "happy
path" inclusion and consistency proofs, as published in transparency-dev/merkle
(`testonly/constants.go`, `testdata/*/happy-path.json`; the same values as
google/certificate-transparency's merkle_tree_test). Signed notes: the keys and
signatures of golang.org/x/mod/sumdb/note's tests and of the C2SP signed-note
specification, so that notes we sign open with Go's `note.Open` and theirs open
with ours. Pure Python: no database.
"""

import base64
import hashlib

import pytest

from evidence import tlog

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
]
NODE_HASHES = {
    0: [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    1: [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    2: [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    3: ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
}
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, audit path) of testdata/inclusion/{0..3}/happy-path.json
INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
            "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=",
        ],
    ),
    (
        5,
        8,
        [
            "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
            "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
        ],
    ),
    (2, 3, ["+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU="]),
]
# (size1, size2, proof) of testdata/consistency/{0..4}/happy-path.json
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
            "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=",
        ],
    ),
    (
        6,
        8,
        [
            "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=",
            "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
        ],
    ),
    (2, 5, ["Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="]),
    (
        6,
        7,
        [
            "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=",
            "sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
        ],
    ),
]


def b64(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v) for v in values]


def memory_tree(leaves: list[bytes]) -> tuple[tlog.NodeGetter, list[tuple[int, int, bytes]]]:
    """Every perfect subtree of the leaves, built by appending, and a getter over them."""
    frontier = tlog.Frontier()
    created = [node for leaf in leaves for node in frontier.append(tlog.leaf_hash(leaf))]
    store = {(level, index): digest for level, index, digest in created}
    return (lambda ids: {i: store[i] for i in ids if i in store}), created


# A literal transcription of RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1, to compare against.
def mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return tlog.leaf_hash(d[0])
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return tlog.node_hash(mth(d[:k]), mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return [*path(m, d[:k]), mth(d[k:])] if m < k else [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [mth(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return [*subproof(m, d[:k], b), mth(d[k:])] if m <= k else [*subproof(m - k, d[k:], False), mth(d[:k])]


def test_node_hashes_of_the_reference_tree():
    _, created = memory_tree(LEAF_INPUTS)
    by_level: dict[int, list[str]] = {}
    for level, index, digest in sorted(created):
        assert index == len(by_level.setdefault(level, []))
        by_level[level].append(digest.hex())
    assert by_level == NODE_HASHES


@pytest.mark.parametrize("size", range(9))
def test_roots_of_every_size(size):
    get, _ = memory_tree(LEAF_INPUTS)
    assert tlog.root_hash(size, get).hex() == ROOTS[size]
    assert tlog.root_of_leaves([tlog.leaf_hash(leaf) for leaf in LEAF_INPUTS[:size]]).hex() == ROOTS[size]


def test_empty_root_is_the_hash_of_nothing():
    assert tlog.EMPTY_ROOT.hex() == ROOTS[0]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_published_inclusion_proofs(index, size, proof):
    get, _ = memory_tree(LEAF_INPUTS)
    assert tlog.inclusion_proof(index, size, get) == b64(proof)
    root = bytes.fromhex(ROOTS[size])
    tlog.verify_inclusion(index, size, tlog.leaf_hash(LEAF_INPUTS[index]), b64(proof), root)


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY)
def test_published_consistency_proofs(size1, size2, proof):
    get, _ = memory_tree(LEAF_INPUTS)
    assert tlog.consistency_proof(size1, size2, get) == b64(proof)
    tlog.verify_consistency(size1, size2, bytes.fromhex(ROOTS[size1]), bytes.fromhex(ROOTS[size2]), b64(proof))


def test_every_proof_up_to_40_leaves_matches_the_rfc_text_and_verifies():
    leaves = [n.to_bytes(2, "big") for n in range(40)]
    get, _ = memory_tree(leaves)
    for size in range(1, 41):
        root = mth(leaves[:size])
        assert tlog.root_hash(size, get) == root
        for index in range(size):
            proof = tlog.inclusion_proof(index, size, get)
            assert proof == path(index, leaves[:size])
            tlog.verify_inclusion(index, size, tlog.leaf_hash(leaves[index]), proof, root)
        for size1 in range(1, size + 1):
            proof = tlog.consistency_proof(size1, size, get)
            assert proof == ([] if size1 == size else subproof(size1, leaves[:size], True))
            tlog.verify_consistency(size1, size, mth(leaves[:size1]), root, proof)


def test_proofs_read_few_stored_subtrees():
    get, _ = memory_tree([n.to_bytes(4, "big") for n in range(1000)])
    asked: list[int] = []

    def counting(ids):
        asked.append(len(ids))
        return get(ids)

    tlog.inclusion_proof(517, 1000, counting)
    tlog.consistency_proof(333, 1000, counting)
    assert len(asked) == 2
    assert max(asked) <= 2 * 10


@pytest.mark.parametrize(
    ("index", "size", "change"),
    [(5, 8, "flip"), (5, 8, "drop"), (5, 8, "add"), (4, 8, "none"), (5, 5, "none"), (5, 16, "none")],
)
def test_a_changed_inclusion_proof_is_refused(index, size, change):
    proof = b64(INCLUSION[2][2])
    if change == "flip":
        proof[1] = bytes([proof[1][0] ^ 1]) + proof[1][1:]
    elif change == "drop":
        proof = proof[:-1]
    elif change == "add":
        proof = [*proof, proof[0]]
    with pytest.raises(tlog.ProofError):
        tlog.verify_inclusion(index, size, tlog.leaf_hash(LEAF_INPUTS[5]), proof, bytes.fromhex(ROOTS[8]))


@pytest.mark.parametrize("change", ["flip", "drop", "swap-roots", "size"])
def test_a_changed_consistency_proof_is_refused(change):
    size1, size2, proof = 6, 8, b64(CONSISTENCY[2][2])
    root1, root2 = bytes.fromhex(ROOTS[6]), bytes.fromhex(ROOTS[8])
    if change == "flip":
        proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
    elif change == "drop":
        proof = proof[:-1]
    elif change == "swap-roots":
        root1, root2 = root2, root1
    elif change == "size":
        size1 = 5
    with pytest.raises(tlog.ProofError):
        tlog.verify_consistency(size1, size2, root1, root2, proof)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (3, 3), (-1, 4)])
def test_inclusion_outside_the_tree_is_refused(index, size):
    get, _ = memory_tree(LEAF_INPUTS)
    with pytest.raises(tlog.ProofError, match=f"leaf index {index} is not in a tree of size {size}"):
        tlog.inclusion_proof(index, size, get)


@pytest.mark.parametrize(("size1", "size2"), [(0, 4), (5, 4)])
def test_consistency_between_impossible_sizes_is_refused(size1, size2):
    get, _ = memory_tree(LEAF_INPUTS)
    with pytest.raises(tlog.ProofError, match="a consistency proof needs 0 < from <= to"):
        tlog.consistency_proof(size1, size2, get)


# golang.org/x/mod/sumdb/note: note_test.go
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"


def test_signing_gives_the_bytes_go_gives():
    signer = tlog.signer_from_string(PETER_SKEY)
    assert (signer.name, signer.key_hash) == ("PeterNeumann", "c74f20a3")
    assert tlog.note_sign(TEXT, signer) == TEXT + "\n" + PETER_SIG
    assert signer.verifier.vkey == PETER_VKEY
    assert signer.skey == PETER_SKEY


def test_open_verifies_known_keys_and_keeps_unknown_ones_apart():
    peter, enoch = tlog.verifier_from_string(PETER_VKEY), tlog.verifier_from_string(ENOCH_VKEY)
    opened = tlog.note_open(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter])
    assert opened.text == TEXT
    assert opened.verified == (("PeterNeumann", 0xC74F20A3),)
    assert opened.unverified == (("EnochRoot", 0xAF0CFE78),)
    both = tlog.note_open(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter, enoch])
    assert both.verified == (("PeterNeumann", 0xC74F20A3), ("EnochRoot", 0xAF0CFE78))


def test_a_note_no_known_key_signed_is_refused():
    with pytest.raises(tlog.UnknownKey):
        tlog.note_open(TEXT + "\n" + PETER_SIG, [tlog.verifier_from_string(ENOCH_VKEY)])


def test_a_bad_signature_by_a_known_key_is_refused():
    with pytest.raises(tlog.BadSignature, match="invalid signature for key PeterNeumann\\+c74f20a3"):
        tlog.note_open(TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], [tlog.verifier_from_string(PETER_VKEY)])


@pytest.mark.parametrize(
    "note",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        b"\xff" + (TEXT + "\n" + PETER_SIG).encode(),
        TEXT
        + "\n"
        + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG * 101,
    ],
)
def test_malformed_notes_are_refused(note):
    with pytest.raises(tlog.MalformedNote):
        tlog.note_open(note, [tlog.verifier_from_string(PETER_VKEY)])


def test_mangled_key_strings_are_refused():
    bad = [
        PETER_VKEY[:-1],
        PETER_VKEY[1:],
        PETER_VKEY.replace("c74f20a3", "c74f20a4"),
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # wrong length
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown algorithm
    ]
    bad += [PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :] for i in range(len(PETER_VKEY))]
    for vkey in bad:
        with pytest.raises(tlog.NoteError):
            tlog.verifier_from_string(vkey)
    for skey in [PETER_SKEY[:-1], PETER_SKEY[8:], PETER_SKEY.replace("c74f20a3", "c74f20a4")]:
        with pytest.raises(tlog.NoteError):
            tlog.signer_from_string(skey)


def test_the_signed_note_spec_example():
    # c2sp.org/signed-note, "Verifier keys", Example
    verifier = tlog.verifier_from_string("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
    note = (
        "This is an example message.\n\n"
        "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
    )
    assert tlog.note_open(note, [verifier]).text == "This is an example message.\n"


def test_a_generated_key_signs_what_its_verifier_accepts():
    signer = tlog.signer_generate("trust.example.com/evidence")
    again = tlog.signer_from_string(signer.skey)
    verifier = tlog.verifier_from_string(signer.verifier.vkey)
    note = tlog.note_sign("hello\n", again)
    assert tlog.note_open(note, [verifier]).verified == (("trust.example.com/evidence", signer.key_id),)


def test_checkpoint_text_round_trips_with_the_signed_time():
    from datetime import UTC, datetime

    root = bytes.fromhex(ROOTS[8])
    text = tlog.checkpoint_text("trust.example.com/evidence", 8, root, datetime(2026, 6, 1, 12, 30, 5, 999, tzinfo=UTC))
    assert (
        text
        == "trust.example.com/evidence\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntime 2026-06-01T12:30:05Z\n"
    )
    parsed = tlog.checkpoint_parse(text)
    assert (parsed.origin, parsed.size, parsed.root) == ("trust.example.com/evidence", 8, root)
    assert parsed.signed_at == datetime(2026, 6, 1, 12, 30, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "origin\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",  # no final newline
        "origin\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",  # leading zero
        "origin\n8\nXcnaeacG\n",  # short root
        "origin\n8\n\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",  # empty line
        "origin\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntime yesterday\n",
    ],
)
def test_malformed_checkpoints_are_refused(text):
    with pytest.raises(tlog.MalformedNote):
        tlog.checkpoint_parse(text)


def test_a_file_of_notes_splits_into_notes():
    signer = tlog.signer_from_string(PETER_SKEY)
    first, second = tlog.note_sign("one\n", signer), tlog.note_sign("two\n\nthree\n", signer)
    assert tlog.split_notes(first + "\n" + second + "\n") == [first, second]
    assert tlog.split_notes(first + "\n" + second) == [first, second]


def test_the_module_imports_without_django():
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, evidence.tlog; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert out.stdout == "[]\n"
