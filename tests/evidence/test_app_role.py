"""The application's role cannot lift the guards (PostgreSQL).

These tests run as `trustcenter_app`, granted what `manage.py
db_grant_app_role` grants: each tries one way round the append-only guard
that the owner or a superuser could take, and is refused. The retention
purge, the one path allowed to rewrite history, still works and leaves a
chained record."""

import psycopg
import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from compliance.models import Control
from evidence.apps import refresh_guards
from evidence.db import GRANT_TABLE, PURGE_FUNCTION, allow_history_purge, app_role_problems, install_guards
from evidence.models import ChainHead, ChainLink, PurgeRecord
from evidence.verify import verify_chain
from tests import db_roles

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

HISTORY_UPDATE = "UPDATE compliance_historicalcontrol SET title = 'Weaker claim' WHERE history_id = %s"
GUARDED = (
    "compliance_historicalcontrol",
    "compliance_publication",
    "evidence_chainlink",
    "evidence_chainschema",
    "evidence_purgerecord",
    "evidence_chainhead",
    "requests_app_historicalticket",
)


def refused(sql: str, params: list | None = None, *, before: tuple[str, ...] = ()) -> str:
    """The first line of the error `sql` raises, run after `before` in one transaction of the app's role."""
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic(), connection.cursor() as cursor:
        for statement in before:
            cursor.execute(statement)
        cursor.execute(sql, params)
    return str(excinfo.value).splitlines()[0]


@pytest.fixture
def history_id(seeded) -> int:
    return Control.history.order_by("history_id").values_list("history_id", flat=True)[0]


def test_the_tests_run_as_the_restricted_application_role(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_user, current_user")
        assert cursor.fetchone() == (db_roles.APP_ROLE, db_roles.APP_ROLE)
    assert app_role_problems(connection, db_roles.APP_ROLE) == []


def test_the_old_session_setting_no_longer_opens_the_guard(history_id):
    assert refused(HISTORY_UPDATE, [history_id], before=("SET LOCAL trustcenter.purge = 'on'",)) == (
        "UPDATE on compliance_historicalcontrol: history is append-only"
    )


def test_the_triggers_cannot_be_switched_off_for_the_session(db):
    assert refused("SET session_replication_role = replica") == (
        'permission denied to set parameter "session_replication_role"'
    )


def test_the_role_cannot_become_another(db):
    assert refused("SET ROLE postgres") == 'permission denied to set role "postgres"'
    assert refused("SET SESSION AUTHORIZATION postgres") == 'permission denied to set session authorization "postgres"'


@pytest.mark.parametrize("table", GUARDED)
def test_the_triggers_cannot_be_disabled_dropped_or_replaced(db, table):
    for statement in (
        f"ALTER TABLE {table} DISABLE TRIGGER ALL",
        f"DROP TRIGGER evidence_no_truncate ON {table}",
        f"ALTER TABLE {table} OWNER TO {db_roles.APP_ROLE}",
    ):
        # PostgreSQL names it a table or a relation, depending on the statement.
        assert refused(statement) in (f"must be owner of table {table}", f"must be owner of relation {table}")
    assert refused(
        "CREATE OR REPLACE FUNCTION evidence_refuse_rewrite() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ "
        "LANGUAGE plpgsql"
    ) in ("must be owner of function evidence_refuse_rewrite", "permission denied for schema public")


@pytest.mark.parametrize("table", GUARDED)
def test_truncate_is_refused(seeded, table):
    assert refused(f"TRUNCATE {table} CASCADE") == f"permission denied for table {table}"


def test_the_grant_table_cannot_be_written(seeded):
    assert refused(f"INSERT INTO {GRANT_TABLE} (txid, purge_record_id) VALUES (txid_current(), 1)") == (
        f"permission denied for table {GRANT_TABLE}"
    )
    assert refused(f"DELETE FROM {GRANT_TABLE}") == f"permission denied for table {GRANT_TABLE}"


def test_a_temporary_table_cannot_stand_in_for_the_grant_table(history_id):
    forged = (
        f"CREATE TEMPORARY TABLE {GRANT_TABLE} (txid bigint, purge_record_id bigint)",
        f"INSERT INTO {GRANT_TABLE} VALUES (txid_current(), 1)",
    )
    assert refused(HISTORY_UPDATE, [history_id], before=forged) == (
        "UPDATE on compliance_historicalcontrol: history is append-only"
    )


def test_the_purge_function_refuses_a_record_without_a_chain_link(history_id):
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic(), connection.cursor() as cursor:
        # Raw SQL: the chain's receivers never see the row.
        cursor.execute(
            "INSERT INTO evidence_purgerecord (ran_at, reason, actor_username, database_transaction) "
            "VALUES (now(), 'forged', '', txid_current()::text) RETURNING id"
        )
        cursor.execute(f"SELECT {PURGE_FUNCTION}(%s)", [cursor.fetchone()[0]])
    assert "was not written and chained in this transaction" in str(excinfo.value)


def test_the_purge_function_refuses_a_chained_record_naming_another_transaction(history_id):
    with transaction.atomic():
        record = PurgeRecord.objects.create(ran_at=timezone.now(), reason="forged", database_transaction="1")
    assert ChainLink.objects.filter(model_label="evidence.purgerecord", row_pk=record.pk).exists()
    message = refused(f"SELECT {PURGE_FUNCTION}(%s)", [record.pk])
    assert message == f"purge record {record.pk} was not written and chained in this transaction"
    assert refused(HISTORY_UPDATE, [history_id]) == "UPDATE on compliance_historicalcontrol: history is append-only"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_purge_grant_of_an_earlier_transaction_opens_nothing(history_id):
    with transaction.atomic(), connection.cursor() as cursor:
        record = allow_history_purge(cursor, reason="retention", actor_username="system")
        cursor.execute("UPDATE compliance_historicalcontrol SET body = '' WHERE history_id = %s", [history_id])
    assert refused(f"SELECT {PURGE_FUNCTION}(%s)", [record.pk]) == (
        f"purge record {record.pk} was not written and chained in this transaction"
    )
    assert refused(HISTORY_UPDATE, [history_id]) == "UPDATE on compliance_historicalcontrol: history is append-only"


def test_the_head_only_moves_forward(seeded):
    head = ChainHead.objects.get()
    previous = ChainLink.objects.get(seq=head.seq - 1)
    assert refused("UPDATE evidence_chainhead SET seq = %s, hash = %s", [previous.seq, previous.link_hash]) == (
        "UPDATE on evidence_chainhead: the chain head only moves forward to the next link"
    )
    assert refused("DELETE FROM evidence_chainhead") == (
        "DELETE on evidence_chainhead: the chain head only moves forward to the next link"
    )


def test_a_purge_grant_leaves_the_ledger_and_the_head_sealed(seeded):
    head = ChainHead.objects.get()
    previous = ChainLink.objects.get(seq=head.seq - 1)
    with transaction.atomic(), connection.cursor() as cursor:
        record = allow_history_purge(cursor, reason="retention", actor_username="system")
    # Each after a purge grant, in a savepoint of its own.
    attempts: list[tuple[str, list[int | str], str]] = [
        (
            "DELETE FROM evidence_purgerecord WHERE id = %s",
            [record.pk],
            "permission denied for table evidence_purgerecord",
        ),
        ("DELETE FROM evidence_chainlink WHERE seq = %s", [head.seq], "permission denied for table evidence_chainlink"),
        (
            "UPDATE evidence_chainhead SET seq = %s, hash = %s",
            [previous.seq, previous.link_hash],
            "UPDATE on evidence_chainhead: the chain head only moves forward to the next link",
        ),
    ]
    for sql, params, expected in attempts:
        with pytest.raises(DatabaseError) as excinfo, transaction.atomic(), connection.cursor() as cursor:
            allow_history_purge(cursor, reason="retention", actor_username="system")
            cursor.execute(sql, params)
        assert str(excinfo.value).splitlines()[0] == expected


def test_the_purge_path_still_rewrites_history_and_records_its_grant(history_id):
    """The ticket retention purge, with `verify_chain` after it: tests/requests_app/test_retention_guard.py."""
    with transaction.atomic(), connection.cursor() as cursor:
        record = allow_history_purge(cursor, reason="retention: 7 years", actor_username="system")
        cursor.execute("UPDATE compliance_historicalcontrol SET body = '' WHERE history_id = %s", [history_id])
        assert cursor.rowcount == 1
        cursor.execute(f"SELECT purge_record_id FROM {GRANT_TABLE} WHERE txid = %s", [int(record.database_transaction)])
        assert cursor.fetchone() == (record.pk,)
    assert Control.history.get(history_id=history_id).body == ""
    assert ChainLink.objects.filter(model_label="evidence.purgerecord", row_pk=record.pk).count() == 1


# --- what the owner and a superuser meet ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_even_the_owner_cannot_truncate_without_switching_the_triggers_off(seeded, dba):
    for table in GUARDED:
        with pytest.raises(psycopg.Error) as excinfo, dba.transaction():
            dba.execute(f"TRUNCATE {table} CASCADE")
        assert "TRUNCATE on " in str(excinfo.value)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_under_a_purge_grant_the_trigger_keeps_the_ledger_sealed(history_id, dba):
    """The trigger's own rule, seen by a role whose privileges would allow the write (the owner)."""
    with pytest.raises(psycopg.Error) as excinfo, dba.transaction():
        dba.execute(f"INSERT INTO {GRANT_TABLE} (txid, purge_record_id) VALUES (txid_current(), 0)")
        assert dba.execute(HISTORY_UPDATE, [history_id]).rowcount == 1
        dba.execute("DELETE FROM evidence_chainlink WHERE seq = (SELECT max(seq) FROM evidence_chainlink)")
    assert str(excinfo.value).splitlines()[0] == "DELETE on evidence_chainlink: history is append-only"
    assert verify_chain().ok


@pytest.mark.db_owner
def test_grant_command_prints_its_sql_and_refuses_a_role_that_could_lift_the_guards(db, capsys):
    call_command("db_grant_app_role", db_roles.APP_ROLE)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("GRANT CONNECT ON DATABASE ")
    assert f'GRANT SELECT ON TABLE public.{GRANT_TABLE} TO "{db_roles.APP_ROLE}";' in out
    assert f'GRANT EXECUTE ON FUNCTION public.{PURGE_FUNCTION}(bigint) TO "{db_roles.APP_ROLE}";' in out
    assert out[-1] == f"Granted {db_roles.APP_ROLE} the application's run-time rights."
    assert not any("TRUNCATE" in line or "ALL PRIVILEGES" in line for line in out)
    with pytest.raises(CommandError, match="The role can still lift the guards: role postgres has SUPERUSER"):
        call_command("db_grant_app_role", "postgres")
    with pytest.raises(CommandError, match="role no_such_role does not exist"):
        call_command("db_grant_app_role", "no_such_role")


@pytest.mark.db_owner
def test_migrate_grants_the_configured_application_role(db, settings):
    with connection.cursor() as cursor:
        cursor.execute(f"REVOKE ALL ON {GRANT_TABLE}, compliance_control FROM {db_roles.APP_ROLE}")
        settings.DATABASE_APP_ROLE = db_roles.APP_ROLE
        refresh_guards(sender=apps.get_app_config("evidence"), using="default")
        cursor.execute(
            "SELECT has_table_privilege(%s, %s, 'SELECT'), has_table_privilege(%s, 'compliance_control', 'UPDATE')",
            [db_roles.APP_ROLE, GRANT_TABLE, db_roles.APP_ROLE],
        )
        assert cursor.fetchone() == (True, True)


@pytest.mark.db_owner
def test_installing_the_guards_again_replaces_the_session_setting_rule(db):
    """An install from before this release trusted `trustcenter.purge`; the next migrate replaces it."""
    assert install_guards(connection) == install_guards(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT prosrc FROM pg_proc WHERE proname IN ('evidence_refuse_rewrite', 'evidence_head_forward_only')"
        )
        sources = [row[0] for row in cursor.fetchall()]
    assert len(sources) == 2
    assert not any("trustcenter.purge" in source for source in sources)
