"""Tampering with chained rows is detected, and the database refuses rewrites (PostgreSQL)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError

from compliance.models import CONTENT_MODELS, Certification, Control
from compliance.services import content_save, publication_publish_initial
from core.history import system_actor
from evidence.canonical import link_digest, row_digest
from evidence.db import allow_history_purge
from evidence.models import ChainHead, ChainLink, PurgeRecord
from evidence.registry import read_rows
from evidence.verify import verify_chain
from tests import db_roles

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


# The database administrator works on committed rows, outside the application's transaction.
tampering = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def raw(sql: str, params=None) -> None:
    """Run SQL with the triggers switched off, as a superuser (the database administrator) could; the
    application's role cannot (tests/evidence/test_app_role.py)."""
    with db_roles.dba() as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(sql, params)


def cut_tree_raw(size: int) -> None:
    """Forget the transparency log's tree beyond its first `size` leaves, triggers off."""
    for level in range(size.bit_length() + 8):
        raw("DELETE FROM evidence_treenode WHERE level = %s AND index >= %s", [level, size >> level])


@pytest.fixture
def chain(seeded, editor):
    cert = Certification.objects.get(slug="soc2-type-1")
    for target in ("Q1 2027", "Q2 2027", "Q3 2027"):
        cert.target = target
        content_save(obj=cert, actor=editor, reason=f"moved to {target}")
    assert verify_chain().ok
    return list(ChainLink.objects.order_by("seq"))


def control_link(links):
    return next(link for link in links if link.model_label == "compliance.historicalcontrol" and link.seq > 20)


def verify_fails(match: str, *args: str) -> str:
    with pytest.raises(CommandError, match=match) as excinfo:
        call_command("verify_chain", *args)
    return str(excinfo.value)


@tampering
def test_altered_field_of_a_history_row_is_named(chain):
    link = control_link(chain)
    raw("UPDATE compliance_historicalcontrol SET title = 'Weaker claim' WHERE history_id = %s", [link.row_pk])
    message = verify_fails("Chain BROKEN")
    assert message == (
        f"Chain BROKEN at link {link.seq}: compliance.historicalcontrol row {link.row_pk} "
        "was altered after it was chained"
    )


@tampering
def test_altered_reason_or_user_or_time_is_detected(chain):
    link = chain[-2]
    raw(
        "UPDATE compliance_historicalcertification SET history_change_reason = 'other' WHERE history_id = %s",
        [link.row_pk],
    )
    assert verify_chain().broken.seq == link.seq


@tampering
def test_rehashed_row_breaks_the_next_link(chain):
    """Recomputing a link's hashes after altering its row still leaves the next link pointing at the old hash."""
    link = control_link(chain)
    raw("UPDATE compliance_historicalcontrol SET title = 'Weaker claim' WHERE history_id = %s", [link.row_pk])
    model = Control.history.model
    fields = read_rows(model, [link.row_pk])[link.row_pk]
    row_hash = row_digest({k: fields[k] for k in link.schema.attnames})
    link_hash = link_digest(
        seq=link.seq,
        model_label=link.model_label,
        row_pk=link.row_pk,
        row_hash=row_hash,
        prev_hash=link.prev_hash,
        recorded_at=link.recorded_at,
        actor_id=link.actor_id,
        actor_username=link.actor_username,
        format=link.format,
    )
    raw("UPDATE evidence_chainlink SET row_hash = %s, link_hash = %s WHERE seq = %s", [row_hash, link_hash, link.seq])
    broken = verify_chain().broken
    assert (broken.seq, broken.problem) == (
        link.seq + 1,
        "does not name the previous link's hash (a link before it was changed or replaced)",
    )


@tampering
def test_altered_publication_snapshot_is_named(chain):
    publication = publication_publish_initial(actor=system_actor())
    link = ChainLink.objects.get(model_label="compliance.publication", row_pk=publication.pk)
    assert verify_chain().ok  # the stored JSON hashes the same when read back
    raw(
        "UPDATE compliance_publication SET snapshot = jsonb_set(snapshot, '{organization,name}', '\"Other\"') "
        "WHERE id = %s",
        [publication.pk],
    )
    assert verify_fails("BROKEN") == (
        f"Chain BROKEN at link {link.seq}: compliance.publication row {publication.pk} was altered after it was chained"
    )


@tampering
def test_altered_link_field_is_detected(chain):
    link = control_link(chain)
    raw("UPDATE evidence_chainlink SET actor_id = 999 WHERE seq = %s", [link.seq])
    assert verify_fails("BROKEN") == f"Chain BROKEN at link {link.seq}: the link's own fields were altered"


@tampering
def test_deleted_history_row_is_named(chain):
    link = control_link(chain)
    raw("DELETE FROM compliance_historicalcontrol WHERE history_id = %s", [link.row_pk])
    assert verify_fails("BROKEN") == (
        f"Chain BROKEN at link {link.seq}: compliance.historicalcontrol row {link.row_pk} was deleted"
    )


@tampering
def test_deleted_link_is_a_gap(chain):
    link = control_link(chain)
    raw("DELETE FROM evidence_chainlink WHERE seq = %s", [link.seq])
    assert verify_fails("BROKEN") == (
        f"Chain BROKEN at link {link.seq}: links {link.seq}..{link.seq} are missing (deleted or never written)"
    )


@tampering
def test_history_row_inserted_around_the_chain_is_found(chain):
    template = Control.history.order_by("history_id").first()
    raw(
        "INSERT INTO compliance_historicalcontrol (id, slug, position, is_active, group, title, body, status, "
        "section_id, history_date, history_type, history_change_reason, history_user_id) "
        "SELECT id, slug, position, is_active, \"group\", 'Forged', body, status, section_id, history_date, '~', "
        "'forged', history_user_id FROM compliance_historicalcontrol WHERE history_id = %s".replace(
            ", group,", ', "group",'
        ),
        [template.history_id],
    )
    forged = Control.history.order_by("-history_id").first()
    message = verify_fails("BROKEN")
    assert message == (
        f"Chain BROKEN: compliance.historicalcontrol row {forged.history_id} "
        "is not in the chain (inserted around it, out of sequence)"
    )


@tampering
def test_link_inserted_out_of_sequence_is_found(chain):
    last = chain[-1]
    raw(
        "INSERT INTO evidence_chainlink (seq, model_label, row_pk, schema_id, recorded_at, actor_id, row_hash, "
        "prev_hash, link_hash) SELECT seq + 5, model_label, row_pk + 100000, schema_id, recorded_at, actor_id, "
        "row_hash, link_hash, link_hash FROM evidence_chainlink WHERE seq = %s",
        [last.seq],
    )
    assert verify_fails("BROKEN") == (
        f"Chain BROKEN at link {last.seq + 1}: links {last.seq + 1}..{last.seq + 4} are missing (deleted or never written)"
    )


@tampering
def test_cut_tail_is_found_by_the_head(chain):
    last = chain[-1]
    raw("DELETE FROM evidence_chainlink WHERE seq > %s", [last.seq - 2])
    assert verify_fails("BROKEN") == (
        f"Chain BROKEN at link {last.seq - 1}: the chain ends at {last.seq - 2} but the head records {last.seq}: tail cut"
    )


@tampering
def test_cut_tail_with_rewound_head_leaves_rows_outside_the_chain(chain):
    kept = chain[-3]
    raw("DELETE FROM evidence_chainlink WHERE seq > %s", [kept.seq])
    raw("UPDATE evidence_chainhead SET seq = %s, hash = %s", [kept.seq, kept.link_hash])
    assert verify_fails("BROKEN") == (
        f"Chain BROKEN at link {kept.seq + 1}: the stored tree has {chain[-1].seq} leaves but the chain "
        f"{kept.seq} links: tail cut"
    )
    # Cutting the transparency log's tree as well still leaves the rows.
    cut_tree_raw(kept.seq)
    assert verify_fails("BROKEN") == (
        f"Chain BROKEN: compliance.historicalcertification row {chain[-2].row_pk} "
        "is not in the chain (inserted around it, out of sequence)"
    )


@tampering
def test_cut_tail_with_rewound_head_and_rows_is_found_by_an_expected_head(chain):
    last, kept = chain[-1], chain[-3]
    raw("DELETE FROM evidence_chainlink WHERE seq > %s", [kept.seq])
    raw("DELETE FROM compliance_historicalcertification WHERE history_id IN (%s, %s)", [chain[-2].row_pk, last.row_pk])
    raw("UPDATE evidence_chainhead SET seq = %s, hash = %s", [kept.seq, kept.link_hash])
    cut_tree_raw(kept.seq)
    call_command("verify_chain")  # consistent on its own (without a signed checkpoint)...
    assert verify_fails("BROKEN", "--expect-head", f"{last.seq}:{last.link_hash}") == (
        f"Chain BROKEN at link {kept.seq + 1}: the chain ends at {kept.seq}, before the expected head {last.seq}: tail cut"
    )


def test_expected_head_with_other_hash_is_refused(chain):
    link = chain[-2]
    call_command("verify_chain", "--expect-head", f"{link.seq}:{link.link_hash}")
    assert verify_fails("BROKEN", "--expect-head", f"{link.seq}:{'a' * 64}") == (
        f"Chain BROKEN at link {link.seq}: its hash differs from the expected head's hash"
    )


def test_malformed_expected_head_is_a_usage_error(chain):
    with pytest.raises(CommandError, match="--expect-head: expected SEQ:HASH"):
        call_command("verify_chain", "--expect-head", "12")


# --- triggers ---------------------------------------------------------------


def history_tables() -> list[str]:
    return sorted(m.history.model._meta.db_table for m in CONTENT_MODELS)


def guarded_by(trigger: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = %s ORDER BY c.relname",
            [trigger],
        )
        return [row[0] for row in cursor.fetchall()]


def test_every_history_table_and_the_ledger_carry_the_guard():
    guarded = guarded_by("evidence_append_only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'compliance\\_historical%%'")
        all_history = sorted(row[0] for row in cursor.fetchall())
    assert all_history == sorted(
        [
            *history_tables(),
            "compliance_historicalpublicationrequest",
            "compliance_historicalupdate",
            "compliance_historicalupdaterequest",
        ]
    )
    assert guarded == sorted(
        [
            *all_history,
            "accounts_staffsecurityevent",
            "compliance_publication",
            "compliance_updatepublication",
            "customers_customeragreement",
            "customers_historicalcontact",
            "customers_historicalcustomer",
            "customers_historicalincident",
            "customers_incidentcustomer",
            "customers_incidentmessage",
            "customers_incidentnotice",
            "documents_documentdownload",
            "documents_historicaldocumentgrant",
            "documents_ndaacceptance",
            "documents_ndaapproval",
            "evidence_chainlink",
            "evidence_chainschema",
            "evidence_checkpoint",
            "evidence_personalcommitment",
            "evidence_purgerecord",
            "evidence_treenode",
            "requests_app_historicalticket",
            "requests_app_historicalticketattachment",
            "requests_app_ticketevent",
            "requests_app_ticketnote",
            "subscriptions_contactnotice",
            "subscriptions_historicalsubscriber",
            "subscriptions_subprocessornotice",
            "subscriptions_subprocessorobjection",
            "subscriptions_updatenotice",
            "webhooks_historicalwebhookendpoint",
        ]
    )
    assert guarded_by("evidence_no_truncate") == sorted([*guarded, "evidence_chainhead"])


@pytest.mark.parametrize("statement", ["UPDATE {table} SET history_change_reason = 'x'", "DELETE FROM {table}"])
def test_triggers_refuse_update_and_delete_on_history(chain, statement):
    with connection.cursor() as cursor:
        tables = []
        for table in history_tables():
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
            if cursor.fetchone()[0]:  # a row trigger needs a row to act on
                tables.append(table)
    assert len(tables) >= 8
    for table in tables:
        with (
            pytest.raises(DatabaseError, match="history is append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement.format(table=table))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE compliance_publication SET summary = 'other'",
        "DELETE FROM compliance_publication",
    ],
)
def test_triggers_refuse_rewriting_publications(chain, statement):
    publication_publish_initial(actor=system_actor())
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE evidence_chainlink SET actor_id = NULL",
        "DELETE FROM evidence_chainlink",
        "UPDATE evidence_chainschema SET fields = ''",
        "DELETE FROM evidence_chainschema",
        "UPDATE evidence_chainhead SET seq = seq - 1",
        "UPDATE evidence_chainhead SET seq = seq + 1",
        "DELETE FROM evidence_chainhead",
    ],
)
def test_triggers_refuse_rewriting_the_ledger(chain, statement):
    # The application's role has no UPDATE or DELETE on the links at all; the head it may only move forward.
    with (
        pytest.raises(DatabaseError, match=r"append-only|only moves forward|permission denied for table"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)


def test_purge_path_may_rewrite_and_leaves_a_chained_record(chain):
    link = control_link(chain)
    with transaction.atomic(), connection.cursor() as cursor:
        record = allow_history_purge(cursor, reason="retention: 7 years", actor_username="system")
        cursor.execute("UPDATE compliance_historicalcontrol SET body = '' WHERE history_id = %s", [link.row_pk])
    assert (record.reason, record.actor_username) == ("retention: 7 years", "system")
    assert int(record.database_transaction) > 0
    assert PurgeRecord.objects.count() == 1
    purge_link = ChainLink.objects.order_by("-seq").first()
    assert (purge_link.model_label, purge_link.row_pk) == ("evidence.purgerecord", record.pk)
    assert ChainHead.objects.get().seq == purge_link.seq
    assert Control.history.get(history_id=link.row_pk).body == ""


def test_purge_flag_needs_a_transaction(db):
    with pytest.raises(TransactionManagementError), connection.cursor() as cursor:
        connection.in_atomic_block, saved = False, connection.in_atomic_block
        try:
            allow_history_purge(cursor)
        finally:
            connection.in_atomic_block = saved


def test_writing_a_row_back_unchanged_is_not_a_rewrite(chain):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE evidence_chainhead SET seq = seq, hash = hash")
        cursor.execute("UPDATE compliance_historicalcontrol SET title = title")
    assert verify_chain().ok


@tampering
def test_a_last_link_backdated_with_valid_hashes_is_found(chain):
    """The database administrator moves the newest link back in time and recomputes its
    hash and the head with the project's own code: the hashes hold, the time order does not."""
    last, before = chain[-1], chain[-2]
    backdated = before.recorded_at - timedelta(days=30)
    link_hash = link_digest(
        seq=last.seq,
        model_label=last.model_label,
        row_pk=last.row_pk,
        row_hash=last.row_hash,
        prev_hash=last.prev_hash,
        recorded_at=backdated,
        actor_id=last.actor_id,
        actor_username=last.actor_username,
        format=last.format,
    )
    raw(
        "UPDATE evidence_chainlink SET recorded_at = %s, link_hash = %s WHERE seq = %s",
        [backdated, link_hash, last.seq],
    )
    raw("UPDATE evidence_chainhead SET hash = %s", [link_hash])

    broken = verify_chain().broken
    assert (broken.seq, broken.problem) == (last.seq, "it was recorded before the link before it (a backdated insert)")


def test_links_after_the_newest_checkpoint_are_reported_unsigned(chain):
    result = verify_chain()
    assert (result.ok, result.unsigned) == (True, result.links)
    err = StringIO()
    call_command("verify_chain", stdout=StringIO(), stderr=err)
    assert f"Links 1..{result.links} are not in a signed checkpoint yet" in err.getvalue()
