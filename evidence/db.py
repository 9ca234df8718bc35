"""Database guards for the history tables (PostgreSQL), and the grants of the
role the application runs as.

Triggers make the chained tables (content history, publications, every
record a `ChainSpec` declares), the ticket history and the ledger
append-only: UPDATE, DELETE and TRUNCATE are refused. The head row may only
move forward, one link at a time, to a link that exists.

The one exception is the retention purge. It may UPDATE and DELETE rows of
the history tables (never the ledger or the purge records) in a transaction
that holds a purge grant: a row in `evidence_purgegrant` naming that
transaction. Only `evidence_purge_allow(purge_record_id)`, a SECURITY
DEFINER function owned by the schema owner, writes that table, and only for
a PurgeRecord written and chained in the same transaction. The application's
role (see `app_role_grants`) owns nothing, so it cannot drop or disable a
trigger, replace a function or write the grant table; TRUNCATE it has no
privilege for, and `session_replication_role` needs a superuser.
"""

from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from .registry import chained_models

TRIGGER_NAME = "evidence_append_only"
TRUNCATE_TRIGGER_NAME = "evidence_no_truncate"
HEAD_TRIGGER_NAME = "evidence_head_forward_only"
HEAD_TABLE = "evidence_chainhead"
GRANT_TABLE = "evidence_purgegrant"
PURGE_FUNCTION = "evidence_purge_allow"
# The ledger's own tables; the chained tables of every app come from their declarations.
LEDGER_TABLES = (
    "evidence_chainlink",
    "evidence_chainschema",
    "evidence_treenode",
    "evidence_checkpoint",
    "evidence_personalcommitment",
)
# Never rewritten, not even by the purge: a purge that could delete its own record or a link would leave no trace.
SEALED_TABLES = (*LEDGER_TABLES, "evidence_purgerecord")

# The functions are created in the schema of the tables, with `search_path` fixed to it (temporary schema last,
# so a temporary table cannot stand in for the grant table).
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.evidence_refuse_rewrite() RETURNS trigger
LANGUAGE plpgsql SET search_path = {schema}, pg_temp AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    RAISE EXCEPTION 'TRUNCATE on %: history is append-only', TG_TABLE_NAME
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- Writing a row back unchanged (as restoring a serialized copy does) rewrites nothing.
  IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN RETURN NEW; END IF;
  IF TG_TABLE_NAME <> ALL ({sealed}) AND EXISTS (
       SELECT 1 FROM {schema}.{grant_table} WHERE txid = txid_current()) THEN
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% on %: history is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Only the retention purge may rewrite history.';
END
$$;
"""

HEAD_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.evidence_head_forward_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = {schema}, pg_temp AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    RAISE EXCEPTION 'TRUNCATE on %: the chain head only moves forward to the next link', TG_TABLE_NAME
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN RETURN NEW; END IF;
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq = OLD.seq + 1 AND EXISTS (
       SELECT 1 FROM {schema}.evidence_chainlink WHERE seq = NEW.seq AND link_hash = NEW.hash) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% on %: the chain head only moves forward to the next link', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

GRANT_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS {schema}.{grant_table} (
  txid bigint PRIMARY KEY,
  purge_record_id bigint NOT NULL,
  granted_at timestamptz NOT NULL DEFAULT statement_timestamp()
)
"""

# Runs with the owner's rights, so it checks everything itself: the caller names a purge record that this
# very transaction wrote and chained; the grant then lasts as long as the transaction (txids are never reused).
PURGE_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION {schema}.{function}(purge_record_id bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
  tx bigint := txid_current();
BEGIN
  IF NOT EXISTS (
       SELECT 1 FROM {schema}.evidence_purgerecord record
       JOIN {schema}.evidence_chainlink link ON link.model_label = 'evidence.purgerecord' AND link.row_pk = record.id
       JOIN {schema}.evidence_chainhead head ON head.seq >= link.seq
       WHERE record.id = purge_record_id AND record.database_transaction = tx::text) THEN
    RAISE EXCEPTION 'purge record % was not written and chained in this transaction', purge_record_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO {schema}.{grant_table} (txid, purge_record_id) VALUES (tx, purge_record_id)
    ON CONFLICT (txid) DO NOTHING;
  RETURN tx;
END
$$;
REVOKE ALL ON FUNCTION {schema}.{function}(bigint) FROM PUBLIC;
"""


def _current_schema(cursor: Any) -> str:
    cursor.execute("SELECT quote_ident(current_schema())")
    return str(cursor.fetchone()[0])


def _sql(template: str, schema: str) -> str:
    sealed = "ARRAY[" + ", ".join(f"'{table}'" for table in SEALED_TABLES) + "]::name[]"
    return template.format(schema=schema, grant_table=GRANT_TABLE, function=PURGE_FUNCTION, sealed=sealed)


def protected_tables(cursor: Any) -> list[str]:
    """The ledger tables and every chained table (each app's `ChainSpec`
    declarations: history tables and insert-only records) present now."""
    chained = sorted({entry.model._meta.db_table for entry in chained_models().values()})
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY(%s) "
        "ORDER BY tablename",
        [[*LEDGER_TABLES, *chained]],
    )
    return [row[0] for row in cursor.fetchall()]


def _tables_with_guard(cursor: Any) -> list[str]:
    """Tables that carry the row guard now, whoever installed it (`guard_table`, a migration)."""
    cursor.execute(
        "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE t.tgname = %s AND c.relnamespace = current_schema()::regnamespace ORDER BY c.relname",
        [TRIGGER_NAME],
    )
    return [row[0] for row in cursor.fetchall()]


def _install_functions(cursor: Any) -> str:
    schema = _current_schema(cursor)
    cursor.execute(_sql(GRANT_TABLE_SQL, schema))
    cursor.execute(_sql(APPEND_ONLY_FUNCTION, schema))
    cursor.execute(_sql(HEAD_FUNCTION, schema))
    cursor.execute(_sql(PURGE_FUNCTION_SQL, schema))
    return schema


def _guard(
    cursor: Any,
    schema: str,
    quoted_table: str,
    *,
    row_trigger: str = TRIGGER_NAME,
    function: str = "evidence_refuse_rewrite",
) -> None:
    """The row trigger (UPDATE, DELETE) and the statement trigger (TRUNCATE) on one table, both calling `function`."""
    for statement in (
        f"DROP TRIGGER IF EXISTS {row_trigger} ON {quoted_table}",
        f"CREATE TRIGGER {row_trigger} BEFORE UPDATE OR DELETE ON {quoted_table} "
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.{function}()",
        f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER_NAME} ON {quoted_table}",
        f"CREATE TRIGGER {TRUNCATE_TRIGGER_NAME} BEFORE TRUNCATE ON {quoted_table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{function}()",
    ):
        cursor.execute(statement)


def install_guards(connection: Any) -> list[str]:
    """Create or refresh the triggers, the grant table and the purge function;
    idempotent. Returns the guarded tables (the head not included)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        schema = _install_functions(cursor)
        tables = sorted({*protected_tables(cursor), *_tables_with_guard(cursor)})
        for table in tables:
            _guard(cursor, schema, connection.ops.quote_name(table))
        _guard(cursor, schema, HEAD_TABLE, row_trigger=HEAD_TRIGGER_NAME, function="evidence_head_forward_only")
    return tables


def guard_table(connection: Any, table: str) -> bool:
    """Make one more history table append-only (for apps whose history the
    chain does not cover, e.g. ticket history). Idempotent; creates the
    trigger function of `install_guards` too. Returns whether a trigger was
    installed (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        _guard(cursor, _install_functions(cursor), connection.ops.quote_name(table))
    return True


def unguard_table(connection: Any, table: str) -> None:
    if connection.vendor != "postgresql":
        return
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER_NAME} ON {quoted}")
        cursor.execute(f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER_NAME} ON {quoted}")


def remove_guards(connection: Any) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in sorted({*protected_tables(cursor), *_tables_with_guard(cursor)}):
            unguard_table(connection, table)
        cursor.execute(f"DROP TRIGGER IF EXISTS {HEAD_TRIGGER_NAME} ON {HEAD_TABLE}")
        cursor.execute(f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER_NAME} ON {HEAD_TABLE}")
        cursor.execute("DROP FUNCTION IF EXISTS evidence_refuse_rewrite()")
        cursor.execute("DROP FUNCTION IF EXISTS evidence_head_forward_only()")
        cursor.execute(f"DROP FUNCTION IF EXISTS {PURGE_FUNCTION}(bigint)")
        cursor.execute(f"DROP TABLE IF EXISTS {GRANT_TABLE}")


def allow_history_purge(
    cursor: Any, *, reason: str = "retention purge", actor_username: str = "", reference: str = ""
) -> Any:
    """Let this transaction UPDATE and DELETE history rows, and record that it did.

    `reference` names the record purged (a ticket's reference), so an auditor
    finds the purge of a given ticket; never a name or an address.

    Call it inside `transaction.atomic()` right before the purge's statements;
    the permission ends with the transaction. Side effects: one PurgeRecord
    (chained); on PostgreSQL, a purge grant for this transaction (through
    `evidence_purge_allow`, which checks that record and its link). Returns it.
    """
    from .models import PurgeRecord

    db = getattr(cursor, "db", None) or connections[DEFAULT_DB_ALIAS]
    if not db.in_atomic_block:
        raise TransactionManagementError("allow_history_purge() must run inside transaction.atomic().")
    txid = ""
    if db.vendor == "postgresql":
        cursor.execute("SELECT txid_current()")
        txid = str(cursor.fetchone()[0])
    record = PurgeRecord.objects.using(db.alias).create(
        ran_at=timezone.now(),
        reason=reason[:300],
        reference=reference,
        actor_username=actor_username,
        database_transaction=txid,
    )
    if db.vendor == "postgresql":
        cursor.execute(f"SELECT {PURGE_FUNCTION}(%s)", [record.pk])
    return record


# The application's role at run time -----------------------------------------------------------------------------


def app_role_grants(connection: Any, role: str) -> list[str]:
    """The statements that give `role` what the application needs at run time
    and nothing more: data rights on the application's tables (the sealed
    ledger tables only SELECT and INSERT), sequences, read access to the
    grant table and EXECUTE on the purge function. No TRUNCATE, no CREATE,
    no ownership, so no ALTER or DROP. Idempotent; PostgreSQL only."""
    if connection.vendor != "postgresql":
        return []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        schema = _current_schema(cursor)
        cursor.execute("SELECT quote_ident(current_database())")
        database = cursor.fetchone()[0]
        existing = set(connection.introspection.table_names(cursor))
    app_tables = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    tables = sorted(app_tables & existing)
    data_tables = [table for table in tables if table not in SEALED_TABLES]
    sealed = [table for table in tables if table in SEALED_TABLES]
    user = quote(role)
    statements = [
        f"GRANT CONNECT ON DATABASE {database} TO {user}",
        f"GRANT USAGE ON SCHEMA {schema} TO {user}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {user}",
    ]
    if data_tables:
        names = ", ".join(f"{schema}.{quote(table)}" for table in data_tables)
        statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {names} TO {user}")
    if sealed:
        names = ", ".join(f"{schema}.{quote(table)}" for table in sealed)
        statements.append(f"GRANT SELECT, INSERT ON TABLE {names} TO {user}")
    if "django_migrations" in existing:
        statements.append(f"GRANT SELECT ON TABLE {schema}.django_migrations TO {user}")
    statements += [
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {user}",
        f"GRANT SELECT ON TABLE {schema}.{GRANT_TABLE} TO {user}",
        f"GRANT EXECUTE ON FUNCTION {schema}.{PURGE_FUNCTION}(bigint) TO {user}",
    ]
    return statements


def app_role_problems(connection: Any, role: str) -> list[str]:
    """What would let `role` lift the guards; empty when it is restricted as `app_role_grants` intends."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication FROM pg_roles WHERE rolname = %s",
            [role],
        )
        row = cursor.fetchone()
        if row is None:
            return [f"role {role} does not exist"]
        flags = ("SUPERUSER", "BYPASSRLS", "CREATEROLE", "CREATEDB", "REPLICATION")
        problems = [f"role {role} has {flag}" for flag, on in zip(flags, row, strict=True) if on]
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace "
            "AND pg_has_role(%s, c.relowner, 'USAGE') ORDER BY c.relname LIMIT 5",
            [role],
        )
        problems += [f"role {role} owns (or acts as the owner of) {name}" for (name,) in cursor.fetchall()]
        cursor.execute(
            "SELECT has_schema_privilege(%s, current_schema(), 'CREATE'), "
            "has_database_privilege(%s, current_database(), 'CREATE')",
            [role, role],
        )
        schema_create, database_create = cursor.fetchone()
        if schema_create:
            problems.append(f"role {role} may CREATE in the schema")
        if database_create:
            problems.append(f"role {role} may CREATE schemas in the database")
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace "
            "AND c.relkind IN ('r', 'p') AND (has_table_privilege(%s, c.oid, 'TRUNCATE') "
            "OR has_table_privilege(%s, c.oid, 'TRIGGER')) ORDER BY c.relname LIMIT 5",
            [role, role],
        )
        problems += [f"role {role} may TRUNCATE or add triggers to {name}" for (name,) in cursor.fetchall()]
        cursor.execute(
            f"SELECT has_table_privilege(%s, current_schema() || '.{GRANT_TABLE}', 'INSERT, UPDATE, DELETE')",
            [role],
        )
        if cursor.fetchone()[0]:
            problems.append(f"role {role} may write {GRANT_TABLE}")
    return problems


def app_role_grant(connection: Any, role: str) -> list[str]:
    """Run `app_role_grants` for `role` in one transaction; returns the statements it ran."""
    from django.db import transaction

    statements = app_role_grants(connection, role)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return statements
