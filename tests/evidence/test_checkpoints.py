"""Signed checkpoints: the tree they sign, the key that signs, the file outside the database."""

import base64
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from compliance.models import Certification
from compliance.services import content_save
from core.schedule import declared_jobs
from evidence import tlog
from evidence.checkpoints import checkpoint_if_grown, checkpoint_sign
from evidence.checks import check_signing_key, check_trust_configuration
from evidence.models import ChainHead, ChainLink, Checkpoint, SigningKey, TreeNode
from evidence.selectors import checkpoint_covering, checkpoint_for_row, checkpoint_latest, signing_keys_public
from evidence.signing import SigningKeyRefused, current_signer
from evidence.tlog_store import link_leaf_hash, tree_root, tree_size, tree_sync
from evidence.verify import verify_chain
from tests.conftest import NEXT_SIGNING_KEY, NEXT_VERIFIER_KEY, TEST_SIGNING_KEY, TEST_VERIFIER_KEY
from tests.evidence.helpers import cut_tree, links_root, unguarded, verify_ok_output
from tests.factories import publish_draft

T1 = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)


def edit(actor, target: str) -> None:
    cert = Certification.objects.get(slug="soc2-type-1")
    cert.target = target
    content_save(obj=cert, actor=actor, reason=f"moved to {target}")


def test_the_tree_grows_with_every_link(seeded, editor):
    before = ChainHead.objects.get().seq
    assert tree_size() == before
    edit(editor, "Q1 2027")
    head = ChainHead.objects.get()
    assert tree_size() == head.seq == before + 1
    assert tree_root(head.seq) == links_root()
    # Only perfect subtrees are stored: one per leaf plus one per completed pair, and so on.
    assert TreeNode.objects.count() == sum(head.seq >> level for level in range(head.seq.bit_length()))


@pytest.mark.db_owner  # forgets ledger rows, as only the owner with triggers off can
def test_a_chain_older_than_the_tree_catches_up_on_the_next_append(seeded, editor):
    size = tree_size()
    cut_tree(0)  # as an install from before the tree
    assert tree_size() == 0
    edit(editor, "Q1 2027")
    assert tree_size() == size + 1
    assert tree_root(size + 1) == links_root()


@pytest.mark.db_owner  # forgets ledger rows, as only the owner with triggers off can
def test_the_sync_command_adds_what_the_tree_lacks(seeded):
    size = tree_size()
    cut_tree(5)
    out = StringIO()
    call_command("evidence_tree_sync", stdout=out)
    assert out.getvalue() == f"Tree synced: {size - 5} leaves added, {size} in all.\n"
    assert tree_root(size) == links_root()


def test_a_checkpoint_signs_origin_size_root_and_time(seeded):
    checkpoint = checkpoint_sign(reason="manual", now=T1 + timedelta(microseconds=750))
    size = ChainHead.objects.get().seq
    root = base64.b64encode(links_root()).decode()
    text = f"trust.test/evidence\n{size}\n{root}\ntime 2026-06-01T12:00:00Z\n"
    assert checkpoint.note == tlog.note_sign(text, tlog.signer_from_string(TEST_SIGNING_KEY))
    assert checkpoint.note.startswith(text + "\n— trust.test/evidence ")
    assert (checkpoint.tree_size, checkpoint.root_hash, checkpoint.signed_at) == (size, links_root().hex(), T1)
    assert (checkpoint.reason, checkpoint.key.vkey) == ("manual", TEST_VERIFIER_KEY)
    opened, _ = tlog.checkpoint_open(checkpoint.note, [tlog.verifier_from_string(TEST_VERIFIER_KEY)])
    assert (opened.origin, opened.size, opened.root, opened.signed_at) == (
        "trust.test/evidence",
        size,
        links_root(),
        T1,
    )


def test_every_checkpoint_is_appended_to_the_file_after_commit(
    seeded, editor, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = checkpoint_sign(reason="manual", now=T1)
    assert not settings.EVIDENCE_CHECKPOINT_FILE.exists() or first.note in settings.EVIDENCE_CHECKPOINT_FILE.read_text()
    edit(editor, "Q1 2027")
    with django_capture_on_commit_callbacks(execute=True):
        second = checkpoint_sign(reason="manual", now=T1 + timedelta(hours=1))
    assert settings.EVIDENCE_CHECKPOINT_FILE.read_text() == first.note + "\n" + second.note + "\n"
    assert tlog.split_notes(settings.EVIDENCE_CHECKPOINT_FILE.read_text()) == [first.note, second.note]


def test_nothing_reaches_the_file_when_the_transaction_rolls_back(seeded, settings, django_capture_on_commit_callbacks):
    from django.db import transaction

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        checkpoint_sign(reason="manual", now=T1)
        raise RuntimeError
    assert callbacks == []
    assert not settings.EVIDENCE_CHECKPOINT_FILE.exists()
    assert Checkpoint.objects.count() == 0


def test_a_publication_is_followed_by_a_checkpoint_that_covers_it(
    seeded, editor, approver, django_capture_on_commit_callbacks
):
    edit(editor, "Q1 2027")
    with django_capture_on_commit_callbacks(execute=True):
        publication = publish_draft(requester=editor, approver=approver)
    link = ChainLink.objects.get(model_label="compliance.publication", row_pk=publication.pk)
    checkpoint = checkpoint_covering(link.seq)
    assert checkpoint is not None
    assert (checkpoint.reason, checkpoint.tree_size) == ("publication", ChainHead.objects.get().seq)
    assert checkpoint_latest() == checkpoint
    assert checkpoint_for_row(model_label="compliance.publication", row_pk=publication.pk) == checkpoint
    assert checkpoint_for_row(model_label="compliance.publication", row_pk=publication.pk + 1000) is None


def test_the_periodic_job_signs_only_when_the_chain_grew(seeded, editor):
    assert "evidence.checkpoint" in declared_jobs()
    first = checkpoint_if_grown()
    assert first == {"signed": ChainHead.objects.get().seq}
    assert checkpoint_if_grown() == {"signed": None}
    edit(editor, "Q1 2027")
    assert checkpoint_if_grown() == {"signed": first["signed"] + 1}
    assert list(Checkpoint.objects.order_by("id").values_list("reason", flat=True)) == ["periodic", "periodic"]


def test_the_periodic_job_signs_nothing_for_an_empty_chain(db):
    assert ChainHead.objects.get().seq == 0
    assert checkpoint_if_grown() == {"signed": None}


def test_verify_chain_checks_the_checkpoints(seeded, editor, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        checkpoint_sign(reason="manual", now=T1)
    edit(editor, "Q1 2027")
    with django_capture_on_commit_callbacks(execute=True):
        checkpoint_sign(reason="manual", now=T1 + timedelta(hours=1))
    result = verify_chain()
    assert (result.ok, result.checkpoints) == (True, 4)  # two rows, two notes in the file
    out = StringIO()
    call_command("verify_chain", stdout=out)
    assert out.getvalue() == verify_ok_output(checkpoints=4)


def test_a_checkpoint_an_outsider_kept_is_checked_too(seeded, editor, tmp_path):
    kept = tmp_path / "kept.txt"
    kept.write_text(checkpoint_sign(reason="manual", now=T1).note)
    assert verify_chain(checkpoint_files=[kept]).checkpoints == 2
    forged = tlog.note_sign(
        tlog.checkpoint_text("trust.test/evidence", 3, b"\x00" * 32, T1), tlog.signer_generate("trust.test/evidence")
    )
    kept.write_text(forged)
    assert str(verify_chain(checkpoint_files=[kept]).broken) == (
        f"checkpoint 1 in {kept} is signed by no known key: forged, or signed with a key never recorded"
    )


def test_a_missing_file_of_an_outsider_is_an_error(db, tmp_path):
    with pytest.raises(CommandError, match="--checkpoint: no such file"):
        call_command("verify_chain", "--checkpoint", str(tmp_path / "nothing.txt"))


def test_trusting_only_given_keys(seeded):
    checkpoint = checkpoint_sign(reason="manual", now=T1)
    assert verify_chain(trusted_keys=[TEST_VERIFIER_KEY]).ok
    broken = verify_chain(trusted_keys=[NEXT_VERIFIER_KEY]).broken
    assert str(broken) == (
        f"checkpoint {checkpoint.pk} in the database is signed by no known key: "
        "forged, or signed with a key never recorded"
    )
    with pytest.raises(CommandError, match="--key: the key id does not match the key"):
        call_command("verify_chain", "--key", NEXT_VERIFIER_KEY.replace("794b2fee", "794b2fef"))


def test_key_rotation_keeps_old_checkpoints_valid(seeded, editor, settings):
    old = checkpoint_sign(reason="manual", now=T1)
    edit(editor, "Q1 2027")
    settings.EVIDENCE_SIGNING_KEY = NEXT_SIGNING_KEY
    new = checkpoint_sign(reason="manual", now=T1 + timedelta(days=1))
    assert (old.key.key_hash, new.key.key_hash) == ("7b1d380b", "794b2fee")
    # Which keys count is configuration: the past key must be named as trusted.
    assert str(verify_chain().broken) == (
        "signing key trust.test/evidence+7b1d380b is recorded in the database but configured nowhere (neither "
        "EVIDENCE_SIGNING_KEY nor EVIDENCE_TRUSTED_KEYS names it): added in the database, or a past key whose "
        "verifier key belongs in EVIDENCE_TRUSTED_KEYS"
    )
    settings.EVIDENCE_TRUSTED_KEYS = [TEST_VERIFIER_KEY]
    assert signing_keys_public() == [
        {
            "name": "trust.test/evidence",
            "key_hash": "7b1d380b",
            "verifier_key": TEST_VERIFIER_KEY,
            "valid_from": "2026-06-01T12:00:00.000000Z",
            "valid_until": "2026-06-02T12:00:00.000000Z",
            "revoked_from": None,
            "revoked_reason": None,
        },
        {
            "name": "trust.test/evidence",
            "key_hash": "794b2fee",
            "verifier_key": NEXT_VERIFIER_KEY,
            "valid_from": "2026-06-02T12:00:00.000000Z",
            "valid_until": None,
            "revoked_from": None,
            "revoked_reason": None,
        },
    ]
    result = verify_chain()
    assert (result.ok, result.checkpoints) == (True, 2)
    # The replaced key may not sign again, even if someone configures it.
    settings.EVIDENCE_SIGNING_KEY = TEST_SIGNING_KEY
    with pytest.raises(SigningKeyRefused, match="was replaced on 2026-06-02T12:00:00"):
        checkpoint_sign(reason="manual", now=T1 + timedelta(days=2))


@pytest.mark.db_owner  # forgets ledger rows, as only the owner with triggers off can
def test_a_revoked_key_distrusts_its_checkpoints_from_then_on(seeded, editor, settings):
    checkpoint_sign(reason="manual", now=T1)
    edit(editor, "Q1 2027")
    late = checkpoint_sign(reason="manual", now=T1 + timedelta(days=3))
    out = StringIO()
    call_command(
        "evidence_key_revoke", "7b1d380b", "--from", "2026-06-02T00:00:00", "--reason", "laptop stolen", stdout=out
    )
    assert out.getvalue() == (
        "Key trust.test/evidence+7b1d380b revoked from 2026-06-02T00:00:00+00:00: laptop stolen\n"
        "Keep the revocation outside the database too (a database administrator could lift it there): "
        "add 7b1d380b@2026-06-02T00:00:00+00:00 to EVIDENCE_REVOKED_KEYS.\n"
    )
    result = verify_chain()
    assert result.notices == (
        "The revocation of key trust.test/evidence+7b1d380b is recorded only in the database: add "
        "7b1d380b@2026-06-02T00:00:00+00:00 to EVIDENCE_REVOKED_KEYS, where a database administrator cannot "
        "lift it.",
    )
    settings.EVIDENCE_REVOKED_KEYS = ["7b1d380b@2026-06-02T00:00:00+00:00"]
    broken = verify_chain().broken
    assert verify_chain().notices == ()
    assert str(broken) == (
        f"checkpoint {late.pk} in the database, signed at 2026-06-04T12:00:00+00:00, is not trusted: "
        "key trust.test/evidence+7b1d380b was revoked from 2026-06-02T00:00:00+00:00 (laptop stolen)"
    )
    # The earlier checkpoint still counts; the revoked key signs nothing more.
    with unguarded():
        Checkpoint.objects.filter(pk=late.pk).delete()
    assert verify_chain().ok
    with pytest.raises(SigningKeyRefused, match="was revoked from 2026-06-02T00:00:00"):
        checkpoint_sign(reason="manual", now=T1 + timedelta(days=4))
    settings.EVIDENCE_SIGNING_KEY = NEXT_SIGNING_KEY
    settings.EVIDENCE_TRUSTED_KEYS = [TEST_VERIFIER_KEY]
    assert checkpoint_sign(reason="manual", now=T1 + timedelta(days=4)).key.key_hash == "794b2fee"
    assert verify_chain().ok


def test_revoking_needs_a_known_key_and_a_reason(db):
    with pytest.raises(CommandError, match=r"No signing key has the key hash 0badc0de\."):
        call_command("evidence_key_revoke", "0badc0de", "--from", "2026-06-02", "--reason", "lost")
    with pytest.raises(CommandError, match="--from: not an ISO 8601 time: 'soon'"):
        call_command("evidence_key_revoke", "0badc0de", "--from", "soon", "--reason", "lost")


def test_keygen_prints_a_key_pair_that_signs_and_verifies():
    out = StringIO()
    call_command("evidence_keygen", "--name", "trust.example.com/evidence", stdout=out)
    private_line, verifier_line = out.getvalue().splitlines()
    signer = tlog.signer_from_string(private_line.removeprefix("EVIDENCE_SIGNING_KEY="))
    verifier = tlog.verifier_from_string(verifier_line.removeprefix("verifier key: "))
    assert (signer.name, signer.key_id) == (verifier.name, verifier.key_id)
    assert tlog.note_open(tlog.note_sign("x\n", signer), [verifier]).verified == (
        ("trust.example.com/evidence", verifier.key_id),
    )
    with pytest.raises(CommandError, match="a key name must be non-empty, without spaces or '\\+'"):
        call_command("evidence_keygen", "--name", "two words")


def test_development_keeps_a_generated_key_under_var(settings):
    settings.EVIDENCE_SIGNING_KEY = ""
    settings.DEBUG = True
    first = current_signer()
    assert settings.EVIDENCE_SIGNING_KEY_FILE.read_text() == first.skey + "\n"
    assert settings.EVIDENCE_SIGNING_KEY_FILE.stat().st_mode & 0o777 == 0o600
    assert current_signer() == first
    assert first.name == "trust.test/evidence"


def test_without_debug_an_unset_key_is_refused(settings):
    settings.EVIDENCE_SIGNING_KEY = ""
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured, match="EVIDENCE_SIGNING_KEY is not set"):
        current_signer()
    assert [(m.id, m.msg) for m in check_signing_key()] == [("evidence.E001", "EVIDENCE_SIGNING_KEY is not set.")]
    assert not settings.EVIDENCE_SIGNING_KEY_FILE.exists()


def test_a_malformed_key_fails_the_check(settings):
    settings.EVIDENCE_SIGNING_KEY = TEST_SIGNING_KEY.replace("7b1d380b", "7b1d380c")
    messages = check_signing_key()
    assert messages == [
        Error(
            "EVIDENCE_SIGNING_KEY is not a valid signing key: the key id does not match the key.",
            hint="Create a key with `manage.py evidence_keygen` and set EVIDENCE_SIGNING_KEY to the private key it prints.",
            id="evidence.E002",
        )
    ]
    settings.EVIDENCE_SIGNING_KEY = TEST_SIGNING_KEY
    assert check_signing_key() == []


def test_leaf_bytes_are_the_canonical_json_of_the_exported_link_fields(seeded):
    from evidence.tlog_store import link_leaf_bytes

    link = ChainLink.objects.get(seq=1)
    actor = "null" if link.actor_id is None else link.actor_id
    time = link.recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert link.format == 2
    assert (
        link_leaf_bytes(link)
        == (
            f'{{"actor_id":{actor},"actor_username":"{link.actor_username}","format":2,'
            f'"link_hash":"{link.link_hash}","model":"{link.model_label}",'
            f'"prev_hash":"{"0" * 64}","recorded_at":"{time}","row_hash":"{link.row_hash}",'
            f'"row_pk":{link.row_pk},"seq":1}}'
        ).encode()
    )
    assert link_leaf_hash(link) == tlog.leaf_hash(link_leaf_bytes(link))


@pytest.mark.db_owner  # forgets ledger rows, as only the owner with triggers off can
def test_sync_after_a_partial_tree_gives_the_same_nodes(seeded):
    nodes = set(TreeNode.objects.values_list("level", "index", "hash"))
    cut_tree(10)
    assert tree_size() == 10
    tree_sync()
    assert set(TreeNode.objects.values_list("level", "index", "hash")) == nodes
    assert SigningKey.objects.count() == 0


def test_a_key_recorded_only_in_the_database_is_not_published(seeded):
    checkpoint_sign(reason="manual", now=T1)
    rogue = tlog.signer_generate("trust.test/evidence")
    SigningKey.objects.create(key_hash=rogue.key_hash, name=rogue.name, vkey=rogue.verifier.vkey, valid_from=T1)
    assert [key["verifier_key"] for key in signing_keys_public()] == [TEST_VERIFIER_KEY]


def test_a_revocation_in_the_configuration_is_published(seeded, settings):
    checkpoint_sign(reason="manual", now=T1)
    settings.EVIDENCE_REVOKED_KEYS = ["7B1D380B@2026-06-01T13:00:00+00:00"]
    assert [(key["revoked_from"], key["revoked_reason"]) for key in signing_keys_public()] == [
        ("2026-06-01T13:00:00.000000Z", "EVIDENCE_REVOKED_KEYS")
    ]


def test_the_trust_configuration_is_checked(settings):
    settings.EVIDENCE_TRUSTED_KEYS = ["trust.test/evidence+00000000+AAAA"]
    settings.EVIDENCE_REVOKED_KEYS = ["7b1d380b@2026-06-01"]
    assert [(m.id, m.msg) for m in check_trust_configuration()] == [
        (
            "evidence.E003",
            "EVIDENCE_TRUSTED_KEYS: 'trust.test/evidence+00000000+AAAA' is not a verifier key: "
            "not an Ed25519 key (algorithm byte 0x01 and 32 bytes).",
        ),
        (
            "evidence.E003",
            "EVIDENCE_REVOKED_KEYS: '7b1d380b@2026-06-01' is not KEYHASH@ISO-TIME with a time zone "
            "(as `evidence_key_revoke` prints it).",
        ),
    ]
    settings.EVIDENCE_TRUSTED_KEYS = [TEST_VERIFIER_KEY]
    settings.EVIDENCE_REVOKED_KEYS = []
    assert check_trust_configuration() == []
