"""On PostgreSQL, refuse UPDATE and DELETE on the content history tables, the
publications and the ledger; elsewhere nothing to do.

The SQL is a frozen copy of `evidence.db` as it stood when this migration was
written: later changes to the guards come in migrations of their own (and
`evidence.apps.refresh_guards` re-applies the current ones after `migrate`).
"""

from django.db import migrations

TRIGGER_NAME = "evidence_append_only"
HEAD_TRIGGER_NAME = "evidence_head_forward_only"
GUARDED_TABLES = ("evidence_chainlink", "evidence_chainschema", "evidence_purgerecord", "compliance_publication")

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION evidence_refuse_rewrite() RETURNS trigger AS $$
BEGIN
  -- Writing a row back unchanged (as restoring a serialized copy does) rewrites nothing.
  IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN RETURN NEW; END IF;
  IF coalesce(current_setting('trustcenter.purge', true), '') = 'on' THEN
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% on %: history is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Only the retention purge may rewrite history.';
END
$$ LANGUAGE plpgsql;
"""

HEAD_FUNCTION = """
CREATE OR REPLACE FUNCTION evidence_head_forward_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN RETURN NEW; END IF;
  IF coalesce(current_setting('trustcenter.purge', true), '') = 'on' THEN
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


def guarded_tables(cursor):
    """Every content history table present now, the publications and the ledger tables."""
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND (tablename LIKE 'compliance\\_historical%%' OR tablename = ANY(%s)) ORDER BY tablename",
        [list(GUARDED_TABLES)],
    )
    return [row[0] for row in cursor.fetchall()]


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(APPEND_ONLY_FUNCTION)
        cursor.execute(HEAD_FUNCTION)
        for table in guarded_tables(cursor):
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


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in guarded_tables(cursor):
            cursor.execute(f'DROP TRIGGER IF EXISTS {TRIGGER_NAME} ON "{table}"')
        cursor.execute(f"DROP TRIGGER IF EXISTS {HEAD_TRIGGER_NAME} ON evidence_chainhead")
        cursor.execute("DROP FUNCTION IF EXISTS evidence_refuse_rewrite()")
        cursor.execute("DROP FUNCTION IF EXISTS evidence_head_forward_only()")


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0002_genesis_and_existing_history"),
        ("compliance", "0003_document"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
