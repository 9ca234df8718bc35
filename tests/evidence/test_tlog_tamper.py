"""Signed checkpoints expose what someone with full database rights but without the signing
key can do: rewrite history and recompute every hash, cut the tail, empty the log (PostgreSQL)."""

from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from compliance.models import Certification
from compliance.services import content_save
from evidence import tlog
from evidence.canonical import link_digest, row_digest
from evidence.checkpoints import checkpoint_sign
from evidence.models import ChainLink, Checkpoint
from evidence.registry import chained_models, read_rows
from evidence.signing import SigningKeyRefused
from evidence.tlog_store import link_leaf_hash
from evidence.verify import verify_chain
from tests.conftest import NEXT_VERIFIER_KEY, TEST_VERIFIER_KEY
from tests.evidence.helpers import links_root

# These tests play the database administrator, with the owner's rights (triggers off).
pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.db_owner]

T1 = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)


def raw(sql: str, params=None) -> None:
    """Run SQL with the triggers switched off, as an attacker with the owner's rights could."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def rebuild_tree_raw() -> None:
    """Recompute the whole stored tree from the links, as the project's own code would."""
    raw("DELETE FROM evidence_treenode")
    frontier = tlog.Frontier()
    for link in ChainLink.objects.order_by("seq"):
        for level, index, digest in frontier.append(link_leaf_hash(link)):
            raw(
                "INSERT INTO evidence_treenode (level, index, hash) VALUES (%s, %s, %s)",
                [level, index, digest.hex()],
            )


def rechain_from(seq: int) -> None:
    """Recompute row hashes, link hashes, the head and the tree from link `seq` on, as the
    project's own code would: everything but a signature."""
    registry = chained_models()
    prev_hash = ChainLink.objects.get(seq=seq).prev_hash
    for link in ChainLink.objects.filter(seq__gte=seq).order_by("seq").select_related("schema"):
        fields = read_rows(registry[link.model_label].model, [link.row_pk])[link.row_pk]
        row_hash = row_digest({k: fields[k] for k in link.schema.attnames})
        link_hash = link_digest(
            seq=link.seq,
            model_label=link.model_label,
            row_pk=link.row_pk,
            row_hash=row_hash,
            prev_hash=prev_hash,
            recorded_at=link.recorded_at,
            actor_id=link.actor_id,
            actor_username=link.actor_username,
            format=link.format,
        )
        raw(
            "UPDATE evidence_chainlink SET row_hash = %s, prev_hash = %s, link_hash = %s WHERE seq = %s",
            [row_hash, prev_hash, link_hash, link.seq],
        )
        prev_hash = link_hash
    raw("UPDATE evidence_chainhead SET hash = %s", [prev_hash])
    rebuild_tree_raw()


def verify_fails(*args: str) -> str:
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_chain", *args)
    return str(excinfo.value)


@pytest.fixture
def signed(seeded, editor, django_capture_on_commit_callbacks):
    """Two checkpoints (in the database and in the file), with links between and after them."""
    cert = Certification.objects.get(slug="soc2-type-1")
    with django_capture_on_commit_callbacks(execute=True):
        first = checkpoint_sign(reason="manual", now=T1)
    for target in ("Q1 2027", "Q2 2027"):
        cert.target = target
        content_save(obj=cert, actor=editor, reason=f"moved to {target}")
    with django_capture_on_commit_callbacks(execute=True):
        second = checkpoint_sign(reason="manual", now=T1.replace(hour=13))
    cert.target = "Q3 2027"
    content_save(obj=cert, actor=editor, reason="moved to Q3 2027")
    assert verify_chain().ok
    return first, second


def test_a_rewritten_history_with_every_hash_recomputed_is_caught_by_the_checkpoints(signed):
    first, _ = signed
    link = ChainLink.objects.filter(model_label="compliance.historicalcontrol").order_by("seq").first()
    raw("UPDATE compliance_historicalcontrol SET title = 'Weaker claim' WHERE history_id = %s", [link.row_pk])
    rechain_from(link.seq)
    assert verify_fails() == (
        f"Chain BROKEN at link 1: checkpoint {first.pk} in the database (size {first.tree_size}, signed at "
        f"2026-06-01 12:00:00+00:00) does not match the chain: links 1..{first.tree_size} were rewritten "
        "after it was signed"
    )


def test_a_rewrite_after_the_first_checkpoint_is_narrowed_down_by_the_second(signed):
    first, second = signed
    link = ChainLink.objects.get(seq=first.tree_size + 1)
    raw(
        "UPDATE compliance_historicalcertification SET history_change_reason = 'other' WHERE history_id = %s",
        [link.row_pk],
    )
    rechain_from(link.seq)
    assert verify_fails() == (
        f"Chain BROKEN at link {first.tree_size + 1}: checkpoint {second.pk} in the database (size "
        f"{second.tree_size}, signed at 2026-06-01 13:00:00+00:00) does not match the chain: links "
        f"{first.tree_size + 1}..{second.tree_size} were rewritten after it was signed"
    )


def test_a_cut_tail_with_the_head_and_tree_moved_back_is_caught(signed):
    _, second = signed
    kept = second.tree_size - 1
    raw("DELETE FROM evidence_chainlink WHERE seq > %s", [kept])
    link = ChainLink.objects.get(seq=kept)
    raw("UPDATE evidence_chainhead SET seq = %s, hash = %s", [kept, link.link_hash])
    rebuild_tree_raw()
    assert verify_fails() == (
        f"Chain BROKEN at link {kept + 1}: checkpoint {second.pk} in the database (size {second.tree_size}, "
        f"signed at 2026-06-01 13:00:00+00:00) covers {second.tree_size} links but the chain has {kept}: tail cut"
    )


def test_an_emptied_log_is_caught_by_the_file_outside_the_database(signed, settings):
    first, _ = signed
    for table in ("evidence_chainlink", "evidence_treenode", "evidence_checkpoint", "evidence_signingkey"):
        raw(f"DELETE FROM {table}")
    raw("UPDATE evidence_chainhead SET seq = 0, hash = %s", ["0" * 64])
    # Deleting the recorded keys hides nothing: the trusted key is configuration, not data.
    assert verify_fails() == verify_fails("--key", TEST_VERIFIER_KEY)
    assert verify_fails("--key", TEST_VERIFIER_KEY) == (
        f"Chain BROKEN at link 1: checkpoint 1 in {settings.EVIDENCE_CHECKPOINT_FILE} (size {first.tree_size}, "
        f"signed at 2026-06-01 12:00:00+00:00) covers {first.tree_size} links but the chain has 0: tail cut"
    )


def test_a_deleted_checkpoint_row_is_caught_by_the_file(signed, settings):
    _, second = signed
    raw("DELETE FROM evidence_checkpoint WHERE id = %s", [second.pk])
    assert (
        verify_fails()
        == f"Chain BROKEN: checkpoint 2 in {settings.EVIDENCE_CHECKPOINT_FILE} is missing from the database (deleted)"
    )


def test_an_altered_checkpoint_row_is_caught(signed):
    first, _ = signed
    raw("UPDATE evidence_checkpoint SET tree_size = tree_size - 1 WHERE id = %s", [first.pk])
    assert verify_fails() == (
        f"Chain BROKEN: checkpoint {first.pk} in the database: its size, root or time differ from its signed note "
        "(the row was altered)"
    )
    raw(
        "UPDATE evidence_checkpoint SET tree_size = tree_size + 1, note = replace(note, 'time 2026', 'time 2025') "
        "WHERE id = %s",
        [first.pk],
    )
    assert verify_fails() == (
        f"Chain BROKEN: checkpoint {first.pk} in the database has a bad signature: it was altered or forged"
    )


def test_an_altered_tree_node_is_caught(signed):
    raw("UPDATE evidence_treenode SET hash = %s WHERE level = 0 AND index = 0", ["ab" * 32])
    assert verify_fails() == (
        "Chain BROKEN at link 1: the stored tree's node over links 1..1 does not match the links (altered)"
    )
    leaf = link_leaf_hash(ChainLink.objects.get(seq=1)).hex()
    raw("UPDATE evidence_treenode SET hash = %s WHERE level = 0 AND index = 0", [leaf])
    raw("UPDATE evidence_treenode SET hash = %s WHERE level = 2 AND index = 1", ["ab" * 32])
    assert verify_fails() == (
        "Chain BROKEN at link 5: the stored tree's node over links 5..8 does not match the links (altered)"
    )


def test_the_guards_refuse_rewriting_the_tree_and_checkpoints(signed):
    from django.db import DatabaseError, transaction

    for sql in (
        "UPDATE evidence_treenode SET hash = 'x' WHERE level = 0 AND index = 0",
        "DELETE FROM evidence_checkpoint",
    ):
        with (
            pytest.raises(DatabaseError, match="history is append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert Checkpoint.objects.count() == 2


def test_a_key_added_in_the_database_does_not_make_a_rewritten_history_pass(signed, settings):
    """The database administrator rewrites history, recomputes every hash, deletes the
    checkpoints (the file outside the database is lost too) and signs new ones with a key
    of their own, recorded as if it were the site's."""
    link = ChainLink.objects.filter(model_label="compliance.historicalcontrol").order_by("seq").first()
    raw("UPDATE compliance_historicalcontrol SET title = 'Weaker claim' WHERE history_id = %s", [link.row_pk])
    rechain_from(link.seq)
    raw("DELETE FROM evidence_checkpoint")
    settings.EVIDENCE_CHECKPOINT_FILE.unlink()
    rogue = tlog.signer_generate("trust.test/evidence")
    size = ChainLink.objects.count()
    note = tlog.note_sign(tlog.checkpoint_text("trust.test/evidence", size, links_root(), T1), rogue)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "INSERT INTO evidence_signingkey (key_hash, name, vkey, valid_from, revoked_reason) "
            "VALUES (%s, %s, %s, %s, '') RETURNING id",
            [rogue.key_hash, rogue.name, rogue.verifier.vkey, T1.replace(hour=11)],
        )
        key_id = cursor.fetchone()[0]
        cursor.execute("DELETE FROM evidence_signingkey WHERE id <> %s", [key_id])
        cursor.execute(
            "INSERT INTO evidence_checkpoint (tree_size, root_hash, signed_at, key_id, note, reason) "
            "VALUES (%s, %s, %s, %s, %s, 'manual')",
            [size, links_root().hex(), T1, key_id, note],
        )
    assert verify_fails() == (
        f"Chain BROKEN: signing key trust.test/evidence+{rogue.key_hash} is recorded in the database but "
        "configured nowhere (neither EVIDENCE_SIGNING_KEY nor EVIDENCE_TRUSTED_KEYS names it): added in the "
        "database, or a past key whose verifier key belongs in EVIDENCE_TRUSTED_KEYS"
    )


def test_a_revocation_kept_in_the_configuration_holds_when_the_database_lifts_it(signed, settings):
    """Whoever stole the key and holds the database clears the revocation there."""
    _, second = signed
    call_command("evidence_key_revoke", "7b1d380b", "--from", "2026-06-01T12:30:00Z", "--reason", "key leaked")
    settings.EVIDENCE_REVOKED_KEYS = ["7b1d380b@2026-06-01T12:30:00+00:00"]
    raw("UPDATE evidence_signingkey SET revoked_from = NULL, revoked_reason = ''")
    assert verify_fails() == (
        f"Chain BROKEN: checkpoint {second.pk} in the database, signed at 2026-06-01T13:00:00+00:00, is not "
        "trusted: key trust.test/evidence+7b1d380b was revoked from 2026-06-01T12:30:00+00:00 "
        "(EVIDENCE_REVOKED_KEYS)"
    )
    with pytest.raises(SigningKeyRefused, match=r"revoked from 2026-06-01T12:30:00\+00:00 \(EVIDENCE_REVOKED_KEYS\)"):
        checkpoint_sign(reason="manual", now=T1.replace(hour=14))


def test_a_past_key_without_its_record_is_reported(signed, settings):
    settings.EVIDENCE_TRUSTED_KEYS = [NEXT_VERIFIER_KEY]
    assert verify_fails() == (
        "Chain BROKEN: the past signing key trust.test/evidence+794b2fee of EVIDENCE_TRUSTED_KEYS has no record "
        "in the database: its record was deleted"
    )


def test_a_malformed_revocation_entry_is_named(signed, settings):
    settings.EVIDENCE_REVOKED_KEYS = ["7b1d380b@soon"]
    assert verify_fails() == (
        "EVIDENCE_REVOKED_KEYS: '7b1d380b@soon' is not KEYHASH@ISO-TIME with a time zone "
        "(as `evidence_key_revoke` prints it)."
    )
