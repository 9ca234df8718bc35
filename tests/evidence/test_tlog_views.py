"""The transparency log's public endpoints: an outsider checks a record and the log's growth."""

import base64
from datetime import UTC, datetime

import pytest

from compliance.models import Certification
from compliance.services import content_save
from evidence import tlog
from evidence.checkpoints import checkpoint_sign
from evidence.models import ChainHead, ChainLink
from evidence.tlog_store import link_leaf_hash
from tests.conftest import TEST_VERIFIER_KEY
from tests.factories import publish_draft

T1 = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
VERIFIER = tlog.verifier_from_string(TEST_VERIFIER_KEY)


def b64(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v) for v in values]


@pytest.fixture
def signed(seeded, editor):
    """A checkpoint of the seeded chain, then two more links."""
    first = checkpoint_sign(reason="manual", now=T1)
    cert = Certification.objects.get(slug="soc2-type-1")
    for target in ("Q1 2027", "Q2 2027"):
        cert.target = target
        content_save(obj=cert, actor=editor, reason=f"moved to {target}")
    return first


def test_the_latest_checkpoint_is_served_as_a_signed_note(signed, client):
    later = checkpoint_sign(reason="manual", now=T1.replace(hour=13))
    response = client.get("/evidence/checkpoint")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"] == "public, max-age=60"
    assert response.content.decode() == later.note
    checkpoint, _ = tlog.checkpoint_open(response.content, [VERIFIER])
    assert checkpoint.size == ChainHead.objects.get().seq


def test_no_checkpoint_yet_is_a_404_that_says_so(db, client):
    response = client.get("/evidence/checkpoint")
    assert (response.status_code, response.content) == (404, b"No checkpoint has been signed yet.\n")


def test_an_inclusion_proof_verifies_against_the_signed_checkpoint(signed, client):
    link = ChainLink.objects.get(seq=7)
    body = client.get("/evidence/proof/inclusion/7").json()
    # Without ?size= the proof is in the newest checkpoint that holds the link.
    assert (body["seq"], body["leaf_index"], body["tree_size"]) == (7, 6, signed.tree_size)
    assert body["checkpoint"] == signed.note
    # A content edit is internal: the public sees its leaf hash, not who did what when.
    assert (body["leaf"], body["leaf_bytes"]) == (None, None)
    assert base64.b64decode(body["leaf_hash"]) == link_leaf_hash(link)
    checkpoint, _ = tlog.checkpoint_open(body["checkpoint"], [VERIFIER])
    tlog.verify_inclusion(6, checkpoint.size, link_leaf_hash(link), b64(body["audit_path"]), checkpoint.root)


def test_the_leaf_of_a_publication_is_public(signed, client, editor, approver):
    publication = publish_draft(requester=editor, approver=approver, summary="Public record")
    link = ChainLink.objects.get(model_label="compliance.publication", row_pk=publication.pk)
    body = client.get(f"/evidence/proof/inclusion/{link.seq}?size={link.seq}").json()
    assert body["leaf"] == {
        "seq": link.seq,
        "model": link.model_label,
        "row_pk": link.row_pk,
        "row_hash": link.row_hash,
        "prev_hash": link.prev_hash,
        "recorded_at": link.recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_id": link.actor_id,
        "actor_username": link.actor_username,
        "format": 2,
        "link_hash": link.link_hash,
    }
    leaf = base64.b64decode(body["leaf_bytes"])
    assert tlog.leaf_hash(leaf) == base64.b64decode(body["leaf_hash"]) == link_leaf_hash(link)
    tlog.verify_inclusion(
        link.seq - 1, link.seq, tlog.leaf_hash(leaf), b64(body["audit_path"]), base64.b64decode(body["root_hash"])
    )


def test_an_inclusion_proof_for_a_link_after_the_last_checkpoint_uses_the_whole_tree(signed, client):
    head = ChainHead.objects.get().seq
    body = client.get(f"/evidence/proof/inclusion/{head}").json()
    assert (body["tree_size"], body["checkpoint"]) == (head, None)
    tlog.verify_inclusion(
        head - 1,
        head,
        base64.b64decode(body["leaf_hash"]),
        b64(body["audit_path"]),
        base64.b64decode(body["root_hash"]),
    )


def test_a_consistency_proof_links_an_old_checkpoint_to_a_new_one(signed, client):
    later = checkpoint_sign(reason="manual", now=T1.replace(hour=13))
    body = client.get(f"/evidence/proof/consistency?from={signed.tree_size}").json()
    assert (body["from"], body["to"]) == (signed.tree_size, later.tree_size)
    assert (body["from_checkpoint"], body["to_checkpoint"]) == (signed.note, later.note)
    old, _ = tlog.checkpoint_open(body["from_checkpoint"], [VERIFIER])
    new, _ = tlog.checkpoint_open(body["to_checkpoint"], [VERIFIER])
    tlog.verify_consistency(old.size, new.size, old.root, new.root, b64(body["proof"]))


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("/evidence/proof/inclusion/0", "link 0 is not in the tree of the first {head} links"),
        ("/evidence/proof/inclusion/5?size=3", "link 5 is not in the tree of the first 3 links"),
        ("/evidence/proof/inclusion/5?size=abc", "size must be a whole number, not 'abc'"),
        ("/evidence/proof/inclusion/5?size=-1", "size must be a whole number, not '-1'"),
        ("/evidence/proof/inclusion/5?size=99999", "size 99999 is larger than the log ({head} links)"),
        ("/evidence/proof/consistency", "give ?from= as a tree size (a whole number)"),
        ("/evidence/proof/consistency?from=0", "a consistency proof needs 1 <= from <= to, not from 0 to {head}"),
        ("/evidence/proof/consistency?from=5&to=4", "a consistency proof needs 1 <= from <= to, not from 5 to 4"),
        ("/evidence/proof/consistency?from=1&to=99999", "to 99999 is larger than the log ({head} links)"),
        ("/evidence/proof/consistency?from=1.5", "from must be a whole number, not '1.5'"),
    ],
)
def test_bad_input_is_a_400_with_the_reason(seeded, client, url, error):
    head = ChainHead.objects.get().seq
    response = client.get(url)
    assert (response.status_code, response.json()) == (400, {"error": error.format(head=head)})


def test_the_key_list_shows_every_key_with_its_period(signed, client):
    assert client.get("/evidence/keys").json() == [
        {
            "name": "trust.test/evidence",
            "key_hash": "7b1d380b",
            "verifier_key": TEST_VERIFIER_KEY,
            "valid_from": "2026-06-01T12:00:00.000000Z",
            "valid_until": None,
            "revoked_from": None,
            "revoked_reason": None,
        }
    ]


def test_the_endpoints_take_no_writes(signed, client):
    assert client.post("/evidence/proof/consistency?from=1").status_code == 405
    assert client.post("/evidence/checkpoint").status_code == 405


def test_a_proof_reads_few_rows(signed, client, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        client.get("/evidence/proof/inclusion/7")
