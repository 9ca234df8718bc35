"""Database guards for the history tables (PostgreSQL).

Triggers make the content history tables, publications and the ledger append-only: UPDATE
and DELETE are refused unless the transaction has switched on the purge
setting, which only `allow_history_purge` does, and which leaves a
PurgeRecord (itself chained) behind. The head row may only move forward, one
link at a time, to a link that exists.
"""

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from .registry import chained_models

PURGE_SETTING = "trustcenter.purge"
TRIGGER_NAME = "evidence_append_only"
HEAD_TRIGGER_NAME = "evidence_head_forward_only"
# The ledger's own tables; the chained tables of every app come from their declarations.
LEDGER_TABLES = ("evidence_chainlink", "evidence_chainschema", "evidence_personalcommitment")

APPEND_ONLY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION evidence_refuse_rewrite() RETURNS trigger AS $$
BEGIN
  -- Writing a row back unchanged (as restoring a serialized copy does) rewrites nothing.
  IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN RETURN NEW; END IF;
  IF coalesce(current_setting('{PURGE_SETTING}', true), '') = 'on' THEN
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% on %: history is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Only the retention purge may rewrite history.';
END
$$ LANGUAGE plpgsql;
"""

HEAD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION evidence_head_forward_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN RETURN NEW; END IF;
  IF coalesce(current_setting('{PURGE_SETTING}', true), '') = 'on' THEN
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq = OLD.seq + 1 AND EXISTS (
       SELECT 1 FROM evidence_chainlink WHERE seq = NEW.seq AND link_hash = NEW.hash) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% on %: the chain head only moves forward to the next link', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
"""


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


def install_guards(connection: Any) -> list[str]:
    """Create or refresh the triggers; idempotent. Returns the guarded tables."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(APPEND_ONLY_FUNCTION)
        cursor.execute(HEAD_FUNCTION)
        tables = protected_tables(cursor)
        for table in tables:
            cursor.execute(f'DROP TRIGGER IF EXISTS {TRIGGER_NAME} ON "{table}"')
            cursor.execute(
                f'CREATE TRIGGER {TRIGGER_NAME} BEFORE UPDATE OR DELETE ON "{table}" '
                "FOR EACH ROW EXECUTE FUNCTION evidence_refuse_rewrite()"
            )
        cursor.execute(f"DROP TRIGGER IF EXISTS {HEAD_TRIGGER_NAME} ON evidence_chainhead")
        cursor.execute(
            f"CREATE TRIGGER {HEAD_TRIGGER_NAME} BEFORE UPDATE OR DELETE ON evidence_chainhead "
            "FOR EACH ROW EXECUTE FUNCTION evidence_head_forward_only()"
        )
    return tables


def guard_table(connection: Any, table: str) -> bool:
    """Make one more history table append-only (for apps whose history the
    chain does not cover, e.g. ticket history). Idempotent; needs the trigger
    function of `install_guards` (created here too, unchanged). Returns
    whether a trigger was installed (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return False
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        cursor.execute(APPEND_ONLY_FUNCTION)
        cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER_NAME} ON {quoted}")
        cursor.execute(
            f"CREATE TRIGGER {TRIGGER_NAME} BEFORE UPDATE OR DELETE ON {quoted} "
            "FOR EACH ROW EXECUTE FUNCTION evidence_refuse_rewrite()"
        )
    return True


def unguard_table(connection: Any, table: str) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER_NAME} ON {connection.ops.quote_name(table)}")


def remove_guards(connection: Any) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in protected_tables(cursor):
            cursor.execute(f'DROP TRIGGER IF EXISTS {TRIGGER_NAME} ON "{table}"')
        cursor.execute(f"DROP TRIGGER IF EXISTS {HEAD_TRIGGER_NAME} ON evidence_chainhead")
        cursor.execute("DROP FUNCTION IF EXISTS evidence_refuse_rewrite()")
        cursor.execute("DROP FUNCTION IF EXISTS evidence_head_forward_only()")


def allow_history_purge(cursor: Any, *, reason: str = "retention purge", actor_username: str = "") -> Any:
    """Let this transaction UPDATE and DELETE history rows, and record that it did.

    Call it inside `transaction.atomic()` right before the purge's statements;
    the permission ends with the transaction. Side effects: one PurgeRecord
    (chained). Returns it.
    """
    from .models import PurgeRecord

    db = getattr(cursor, "db", None) or connections[DEFAULT_DB_ALIAS]
    if not db.in_atomic_block:
        raise TransactionManagementError("allow_history_purge() must run inside transaction.atomic().")
    txid = ""
    if db.vendor == "postgresql":
        cursor.execute(f"SET LOCAL {PURGE_SETTING} = 'on'")
        cursor.execute("SELECT txid_current()")
        txid = str(cursor.fetchone()[0])
    return PurgeRecord.objects.using(db.alias).create(
        ran_at=timezone.now(),
        reason=reason[:300],
        actor_username=actor_username,
        database_transaction=txid,
    )
