"""Evidence bundles, and their offline verifier run as an auditor would: without Django."""

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from compliance.models import Certification
from compliance.services import content_save
from evidence.bundle import bundle_tar
from evidence.checkpoints import checkpoint_sign
from evidence.models import ChainHead, ChainLink, Checkpoint
from evidence.signing import signing_key_revoke
from evidence.tlog_store import link_leaf_bytes
from requests_app.retention import retention_purge_all
from tests.conftest import NEXT_VERIFIER_KEY, TEST_VERIFIER_KEY
from tests.requests_app.test_retention import after_retention, closed_dpa

pytestmark = pytest.mark.django_db

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_evidence.py"
DAY1, DAY2, DAY3 = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC), datetime(2026, 6, 3, tzinfo=UTC)
# The verifier runs isolated (-I: no PYTHONPATH, no current directory on the path) with
# `django` made unimportable and an environment without settings or a database URL.
NO_DJANGO = "import runpy, sys; sys.modules['django'] = None; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"


def verify(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-c", NO_DJANGO, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        check=False,
        timeout=60,
    )


def move(cert: Certification, editor, target: str) -> None:
    cert.target = target
    content_save(obj=cert, actor=editor, reason=f"moved to {target}")


@pytest.fixture
def history(clock, published, editor):
    """Day 1: the seed, its publication and a checkpoint. Day 2: two edits, no checkpoint of its own.
    Day 3: one edit and the checkpoint that seals day 2."""
    clock.set(DAY1.replace(hour=9))
    cert = Certification.objects.get(slug="soc2-type-1")
    clock.set(DAY1.replace(hour=23))
    checkpoint_sign(reason="manual")
    clock.set(DAY2.replace(hour=10))
    move(cert, editor, "Q1 2027")
    clock.set(DAY2.replace(hour=11))
    move(cert, editor, "Q2 2027")
    clock.set(DAY3.replace(hour=10))
    move(cert, editor, "Q3 2027")
    checkpoint_sign(reason="manual")
    return cert


def day2() -> list[ChainLink]:
    return list(ChainLink.objects.filter(recorded_at__date="2026-06-02").order_by("seq"))


def export(out: Path, *args: str) -> dict:
    call_command("export_evidence_bundle", *args, "--out", str(out))
    return json.loads((out / "manifest.json").read_text())


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_bundle_of_a_day_holds_its_links_rows_checkpoints_and_manifest(history, tmp_path):
    links = day2()
    manifest = export(tmp_path / "b", "--from", "2026-06-02", "--to", "2026-06-02")
    files = files_of(tmp_path / "b")
    head = ChainHead.objects.get()
    assert manifest == {
        "bundle_format": 1,
        "origin": "trust.test/evidence",
        "from": "2026-06-02",
        "to": "2026-06-02",
        "first_seq": links[0].seq,
        "last_seq": links[-1].seq,
        "prev_hash": ChainLink.objects.get(seq=links[0].seq - 1).link_hash,
        "last_hash": links[-1].link_hash,
        "links": 2,
        "rows": 2,
        "checkpoints": 1,
        "keys": 1,
        "files": {
            name: {"sha256": hashlib.sha256(files[name]).hexdigest(), "bytes": len(files[name])}
            for name in ("checkpoints.txt", "keys.json", "links.jsonl", "rows.jsonl", "tree.json")
        },
    }
    # Each line of links.jsonl is the link's leaf in the tree, byte for byte.
    assert files["links.jsonl"] == b"".join(link_leaf_bytes(link) + b"\n" for link in links)
    # Each line of rows.jsonl is exactly what the row hash covers.
    rows = files["rows.jsonl"].splitlines()
    assert [hashlib.sha256(row).hexdigest() for row in rows] == [link.row_hash for link in links]
    assert json.loads(rows[0])["target"] == "Q1 2027"
    # Day 2 has no checkpoint of its own: day 3's seals it, through a consistency proof.
    assert files["checkpoints.txt"].decode().count("\n— ") == 1
    tree = json.loads(files["tree.json"])
    assert (tree["prefix_size"], tree["seal_size"]) == (links[0].seq - 1, head.seq)
    # The links just outside the range, proven in the sealed tree, show it is complete.
    assert tree["before"]["leaf"].encode() == link_leaf_bytes(ChainLink.objects.get(seq=links[0].seq - 1))
    assert tree["after"]["leaf"].encode() == link_leaf_bytes(ChainLink.objects.get(seq=links[-1].seq + 1))
    assert tree["seal_consistency"]
    assert json.loads(files["keys.json"]) == [
        {
            "name": "trust.test/evidence",
            "key_hash": "7b1d380b",
            "verifier_key": TEST_VERIFIER_KEY,
            "valid_from": "2026-06-01T23:00:00.000000Z",
            "valid_until": None,
            "revoked_from": None,
            "revoked_reason": None,
        }
    ]


def test_a_good_bundle_verifies_offline_without_django(history, tmp_path):
    manifest = export(tmp_path / "b", "--from", "2026-06-02", "--to", "2026-06-02")
    result = verify(tmp_path / "b", "--key", TEST_VERIFIER_KEY, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        f"Bundle OK: 2 links (links {manifest['first_seq']}..{manifest['last_seq']}), 1 signed checkpoints verified\n"
    )


def test_everything_bundles_up_to_the_newest_checkpoint_and_verifies_as_a_tar(history, editor, tmp_path):
    move(history, editor, "Q4 2027")  # after the newest checkpoint: left out
    manifest = export(tmp_path / "all", "--all", "--tar")
    signed = ChainHead.objects.get().seq - 1
    assert (manifest["first_seq"], manifest["last_seq"], manifest["prev_hash"]) == (1, signed, "0" * 64)
    assert manifest["checkpoints"] == 2
    result = verify(tmp_path / "all.tar", "--key", TEST_VERIFIER_KEY, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (
        0,
        f"Bundle OK: {signed} links (links 1..{signed}), 2 signed checkpoints verified\n",
    )
    with tarfile.open(tmp_path / "all.tar") as tar:
        members = {(m.name, m.mtime, m.uid, m.gid, m.mode) for m in tar.getmembers()}
    assert members == {
        (f"evidence-bundle_all/{name}", 946684800, 0, 0, 0o644)
        for name in ("checkpoints.txt", "keys.json", "links.jsonl", "manifest.json", "rows.jsonl", "tree.json")
    }
    again = io.BytesIO()
    bundle_tar(tmp_path / "all", again, prefix="evidence-bundle_all")
    assert again.getvalue() == (tmp_path / "all.tar").read_bytes()


def test_a_closed_range_exports_the_same_bytes_after_a_rename_and_more_history(history, editor, clock, tmp_path):
    export(tmp_path / "before", "--from", "2026-06-02", "--to", "2026-06-02")
    get_user_model().objects.filter(pk=editor.pk).update(username="edna.renamed")
    clock.set(DAY3.replace(hour=15))
    move(history, editor, "Q4 2027")
    checkpoint_sign(reason="manual")
    export(tmp_path / "after", "--from", "2026-06-02", "--to", "2026-06-02")
    assert files_of(tmp_path / "after") == files_of(tmp_path / "before")
    assert b'"actor_username":"edna"' in (tmp_path / "after" / "links.jsonl").read_bytes()


def test_a_closed_range_exports_the_same_bytes_after_the_retention_purge(clock, seeded, make_staff, tmp_path):
    handler = make_staff("hannah", "Request handler")
    clock.set(DAY2.replace(hour=10))
    ticket = closed_dpa(handler)
    clock.set(DAY3.replace(hour=10))
    checkpoint_sign(reason="manual")
    export(tmp_path / "before", "--from", "2026-06-02", "--to", "2026-06-02")
    rows = (tmp_path / "before" / "rows.jsonl").read_bytes()
    # The requester's data is in the range as commitments only, never as values.
    assert b'"requests_app.historicalticket"' in (tmp_path / "before" / "links.jsonl").read_bytes()
    assert b'{"salted_sha256":"' in rows
    assert ticket.requester_email.encode() not in rows
    email = ticket.requester_email
    retention_purge_all(now=after_retention())
    ticket.refresh_from_db()
    assert email not in str(ticket.history.values())  # the history rows of the range were rewritten
    checkpoint_sign(reason="manual")
    export(tmp_path / "after", "--from", "2026-06-02", "--to", "2026-06-02")
    assert files_of(tmp_path / "after") == files_of(tmp_path / "before")
    assert verify(tmp_path / "after", "--key", TEST_VERIFIER_KEY, cwd=tmp_path).returncode == 0


def change_byte(data: bytes, anchor: bytes, offset: int = 0) -> bytes:
    """`data` with the byte at `offset` after the first `anchor` replaced by another one."""
    at = data.index(anchor) + len(anchor) + offset
    replacement = b"1" if data[at : at + 1] != b"1" else b"2"
    return data[:at] + replacement + data[at + 1 :]


def signature_byte(data: bytes) -> bytes:
    at = data.index(b"\n\xe2\x80\x94 ") + 4
    at = data.index(b" ", at) + 30  # inside the signature, past the key id
    replacement = b"A" if data[at : at + 1] != b"A" else b"B"
    return data[:at] + replacement + data[at + 1 :]


@pytest.mark.parametrize(
    ("name", "tamper", "message"),
    [
        (
            "rows.jsonl",
            lambda d: change_byte(d, b'"target":"Q'),
            "rows.jsonl line 1 (link {first}, compliance.historicalcertification row {row}): row altered",
        ),
        (
            "links.jsonl",
            lambda d: change_byte(d, b'"actor_username":"'),
            "links.jsonl line 1 (link {first}): link altered",
        ),
        ("checkpoints.txt", signature_byte, "checkpoints.txt checkpoint 1 (tree size {head}): bad signature"),
        ("manifest.json", lambda d: change_byte(d, b'"last_hash": "'), "manifest.json: altered: last_hash"),
        ("keys.json", lambda d: change_byte(d, b'"valid_from": "2026-06-01T23:'), "keys.json: altered"),
        ("tree.json", lambda d: change_byte(d, b'"prefix_nodes": [\n    "', 5), "tree.json: seal proof"),
        (
            "manifest.json",
            lambda d: change_byte(d, b'"from": "2026-06-0'),
            "tree.json before (link {before}): incomplete",
        ),
        (
            "manifest.json",
            lambda d: d.replace(b'"to": "2026-06-02"', b'"to": "2026-06-03"'),
            "tree.json after (link {after}): incomplete",
        ),
    ],
)
def test_one_byte_changed_in_any_part_is_refused_and_named(history, tmp_path, name, tamper, message):
    export(tmp_path / "b", "--from", "2026-06-02", "--to", "2026-06-02")
    path = tmp_path / "b" / name
    path.write_bytes(tamper(path.read_bytes()))
    result = verify(tmp_path / "b", "--key", TEST_VERIFIER_KEY, cwd=tmp_path)
    first = day2()[0]
    assert result.returncode == 1
    assert result.stdout == ""
    head = ChainHead.objects.get().seq
    expected = message.format(first=first.seq, row=first.row_pk, head=head, before=first.seq - 1, after=first.seq + 2)
    assert expected in result.stderr


def test_a_bundle_checked_with_another_key_is_refused(history, tmp_path):
    export(tmp_path / "b", "--from", "2026-06-02", "--to", "2026-06-02")
    result = verify(tmp_path / "b", "--key", NEXT_VERIFIER_KEY, cwd=tmp_path)
    assert result.returncode == 1
    head = ChainHead.objects.get().seq
    assert (
        f"checkpoints.txt checkpoint 1 (tree size {head}): unknown key: signed by no key given with --key"
        in result.stderr
    )


def test_keys_from_the_sites_key_list_carry_their_periods(history, client, tmp_path):
    export(tmp_path / "b", "--all")
    (tmp_path / "keys.json").write_bytes(client.get("/evidence/keys").content)
    assert verify(tmp_path / "b", "--key", tmp_path / "keys.json", cwd=tmp_path).returncode == 0
    (tmp_path / "trust.json").write_bytes(client.get("/trust.json").content)
    assert verify(tmp_path / "b", "--key", tmp_path / "trust.json", cwd=tmp_path).returncode == 0


def test_a_checkpoint_signed_after_its_key_was_revoked_is_refused(history, tmp_path):
    signing_key_revoke(key_hash="7b1d380b", revoked_from=DAY3.replace(hour=0), reason="laptop stolen")
    with pytest.raises(CommandError, match="No checkpoint signed by a trusted key covers the links of this range yet"):
        export(tmp_path / "b", "--from", "2026-06-02", "--to", "2026-06-02")


def test_a_range_no_checkpoint_covers_yet_is_refused(clock, seeded, tmp_path):
    with pytest.raises(CommandError, match="No checkpoint signed by a trusted key covers the links of this range yet"):
        call_command("export_evidence_bundle", "--all", "--out", str(tmp_path / "b"))


def save_json(path: Path, body: bytes) -> Path:
    path.write_bytes(body)
    return path


def test_an_inclusion_proof_of_a_publication_shows_and_verifies_its_fields(history, client, tmp_path):
    seq = ChainLink.objects.get(model_label="compliance.publication").seq
    head = ChainHead.objects.get().seq
    proof = save_json(tmp_path / "inclusion.json", client.get(f"/evidence/proof/inclusion/{seq}").content)
    assert json.loads(proof.read_bytes())["leaf"]["model"] == "compliance.publication"
    result = verify("--inclusion", proof, "--key", TEST_VERIFIER_KEY, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (
        0,
        f"Inclusion OK: link {seq} is in the signed tree of {head} links\n",
    )
    body = json.loads(proof.read_bytes())
    body["leaf"]["actor_id"] += 1
    save_json(proof, json.dumps(body).encode())
    result = verify("--inclusion", proof, "--key", TEST_VERIFIER_KEY, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (
        1,
        "FAILED inclusion proof leaf: altered: leaf and leaf_bytes differ\n",
    )


def test_an_inclusion_proof_of_another_record_is_tied_to_its_fields_by_the_bundle(history, client, tmp_path):
    seq, head = day2()[0].seq, ChainHead.objects.get().seq
    proof = save_json(tmp_path / "inclusion.json", client.get(f"/evidence/proof/inclusion/{seq}").content)
    assert json.loads(proof.read_bytes())["leaf"] is None  # the public sees the leaf hash only
    result = verify("--inclusion", proof, "--key", TEST_VERIFIER_KEY, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (
        0,
        f"Inclusion OK: leaf {seq} is in the signed tree of {head} links (give the bundle holding it to check its fields)\n",
    )
    export(tmp_path / "b", "--from", "2026-06-02", "--to", "2026-06-02")
    result = verify(tmp_path / "b", "--inclusion", proof, "--key", TEST_VERIFIER_KEY, cwd=tmp_path)
    assert (result.returncode, result.stdout.splitlines()[1]) == (
        0,
        f"Inclusion OK: link {seq} is in the signed tree of {head} links",
    )
    body = json.loads(proof.read_bytes())
    path = [base64.b64decode(node) for node in body["audit_path"]]
    body["audit_path"][0] = base64.b64encode(bytes([path[0][0] ^ 1]) + path[0][1:]).decode()
    save_json(proof, json.dumps(body).encode())
    result = verify("--inclusion", proof, "--key", TEST_VERIFIER_KEY, cwd=tmp_path)
    assert result.returncode == 1
    assert (
        "FAILED inclusion proof audit_path: proof fails: the inclusion proof does not lead to the root" in result.stderr
    )
    body["leaf_hash"] = base64.b64encode(hashlib.sha256(b"another").digest()).decode()
    save_json(proof, json.dumps(body).encode())
    result = verify(tmp_path / "b", "--inclusion", proof, "--key", TEST_VERIFIER_KEY, cwd=tmp_path)
    assert (
        f"FAILED inclusion proof leaf_hash: differs: link {seq} of the bundle is not the link proven" in result.stderr
    )


def test_a_consistency_proof_from_the_site_verifies_and_a_tampered_one_fails(history, client, tmp_path):
    old, new = day2()[0].seq - 1, ChainHead.objects.get().seq  # the sizes of day 1's and day 3's checkpoints
    url = f"/evidence/proof/consistency?from={old}&to={new}"
    proof = save_json(tmp_path / "consistency.json", client.get(url).content)
    result = verify("--consistency", proof, "--key", TEST_VERIFIER_KEY, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (
        0,
        f"Consistency OK: the signed tree of {new} links extends the signed tree of {old}\n",
    )
    body = json.loads(proof.read_bytes())
    body["proof"][-1] = base64.b64encode(hashlib.sha256(b"forged").digest()).decode()
    save_json(proof, json.dumps(body).encode())
    result = verify("--consistency", proof, "--key", TEST_VERIFIER_KEY, cwd=tmp_path)
    assert result.returncode == 1
    assert "FAILED consistency proof proof: proof fails" in result.stderr


def test_an_old_checkpoint_kept_by_the_auditor_backs_a_consistency_proof(history, client, tmp_path):
    oldest = Checkpoint.objects.order_by("tree_size").first()
    kept = save_json(tmp_path / "kept.txt", oldest.note.encode())
    url = f"/evidence/proof/consistency?from={oldest.tree_size}"
    body = json.loads(client.get(url).content)
    body["from_checkpoint"] = None  # the auditor's own copy stands in for the site's
    proof = save_json(tmp_path / "c.json", json.dumps(body).encode())
    result = verify("--consistency", proof, "--key", TEST_VERIFIER_KEY, "--checkpoint", kept, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    # Without it, the old tree's root is unsigned and the proof alone cannot stand.
    result = verify("--consistency", proof, "--key", TEST_VERIFIER_KEY, cwd=tmp_path)
    assert result.returncode == 1
    assert f"no signed checkpoint of tree size {oldest.tree_size}; give one with --checkpoint" in result.stderr


BUNDLE_URL = "/admin/evidence/auditlog/bundle/"


def test_the_auditor_downloads_the_same_tar_as_the_command_writes(history, auditor_client, tmp_path):
    call_command(
        "export_evidence_bundle", "--from", "2026-06-02", "--to", "2026-06-02", "--tar", "--out", str(tmp_path / "b")
    )
    response = auditor_client.get(BUNDLE_URL, {"date_from": "2026-06-02", "date_to": "2026-06-02"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="evidence-bundle_2026-06-02_2026-06-02.tar"'
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == (tmp_path / "b.tar").read_bytes()


def test_the_bundle_download_is_refused_to_an_editor(history, editor_client):
    assert editor_client.get(BUNDLE_URL, {"date_from": "2026-06-02", "date_to": "2026-06-02"}).status_code == 403


def test_the_bundle_download_wants_both_dates_or_neither(history, auditor_client):
    response = auditor_client.get(BUNDLE_URL, {"date_from": "2026-06-02"})
    assert (response.status_code, response.content) == (400, b"Give both dates, or neither for everything.")


def test_links_of_the_first_format_are_exported_and_verified_as_that_format(
    clock, seeded, editor, monkeypatch, tmp_path
):
    clock.set(DAY2.replace(hour=10))
    with monkeypatch.context() as patched:
        patched.setattr("evidence.services.LINK_FORMAT", 1)  # as links were written before usernames were frozen
        move(Certification.objects.get(slug="soc2-type-1"), editor, "Q1 2027")
    move(Certification.objects.get(slug="soc2-type-1"), editor, "Q2 2027")
    checkpoint_sign(reason="manual")
    export(tmp_path / "b", "--from", "2026-06-02", "--to", "2026-06-02")
    old, new = (json.loads(line) for line in (tmp_path / "b" / "links.jsonl").read_bytes().splitlines())
    assert ("format" in old, "actor_username" in old) == (False, False)
    assert (new["format"], new["actor_username"]) == (2, "edna")
    result = verify(tmp_path / "b", "--key", TEST_VERIFIER_KEY, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
