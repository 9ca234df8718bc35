"""Benchmark: `verify_chain` over a chain of LINKS real links (1,000,000 by default).

Needs PostgreSQL: pass DATABASE_URL (a server you may create a database on).
It creates a throwaway database (Django's test database for that URL), loads
the seed content, inserts LINKS content history rows in one SQL statement,
then chains them as `append_link` would, only in bulk: it reads the rows back
in batches with the ledger's own row reader, hashes them and their links with
the ledger's own functions (current link format), grows the transparency
log's Merkle tree in memory, and loads links and tree nodes with COPY. It
moves the head, signs one checkpoint with a throwaway key, times
`verify_chain()` (and, with --command, `manage.py verify_chain` too), and drops
the database.
Prints figures; the run fails only if the chain does not verify.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trustcenter python bench/verify_chain.py [LINKS] [--command]
"""

import io
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import bench_postgres

bench_postgres.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, reset_queries, transaction  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

BATCH_SIZE = 10_000
REASON = "bench verify"
# The columns of a link, as COPY writes them.
LINK_COLUMNS = (
    "seq",
    "model_label",
    "row_pk",
    "schema_id",
    "recorded_at",
    "actor_id",
    "actor_username",
    "format",
    "row_hash",
    "prev_hash",
    "link_hash",
)


def insert_history_rows(rows: int) -> tuple[int, int]:
    """LINKS history rows of one control, one microsecond apart from the chain head's time on
    (so link times never go back). Returns the history ids before and after them."""
    from compliance.models import Control
    from core.history import system_actor
    from evidence.models import ChainHead

    actor = system_actor()
    control = Control.objects.earliest("pk")
    table = Control.history.model._meta.db_table
    start_time = ChainHead.objects.get().recorded_at
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(history_id), 0) FROM {table}")
        (before,) = cursor.fetchone()
        cursor.execute(
            f"""INSERT INTO {table}
                (id, slug, position, is_active, "group", title, body, status, section_id,
                 history_date, history_type, history_change_reason, history_user_id)
                SELECT %s, %s, g %% 1000, true, 'G', 'Control title ' || g, 'body', 'in_place', %s,
                       %s + g * interval '1 microsecond', '~', %s || ' ' || g, %s
                FROM generate_series(1, %s) AS g""",
            [control.pk, control.slug, control.section_id, start_time, REASON, actor.pk, rows],
        )
        cursor.execute(f"SELECT max(history_id) FROM {table}")
        (after,) = cursor.fetchone()
    return before, after


def history_batches(before: int, after: int) -> Iterator[list[dict]]:
    """The new history rows in id order, in batches, as the ledger reads rows (`read_rows`)."""
    from compliance.models import Control
    from evidence.registry import read_rows

    model = Control.history.model
    last = before
    while last < after:
        pks = list(
            model._base_manager.filter(pk__gt=last, pk__lte=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH_SIZE]
        )
        rows = read_rows(model, pks)
        yield [rows[pk] for pk in pks]
        last = pks[-1]


def chain_rows(before: int, after: int) -> int:
    """Link the new history rows after the head, in the current link format, and grow the tree.

    What `append_link` and `tree_append` do for one row, done for many: the same
    hashing, with links and tree nodes written by COPY. Returns the number of links."""
    from compliance.models import Control
    from evidence import tlog
    from evidence.canonical import LINK_FORMAT, hashed_row_digest, link_digest
    from evidence.models import ChainHead, ChainLink, ChainSchema
    from evidence.registry import chained_models
    from evidence.tlog_store import link_leaf_hash, node_getter

    chained = chained_models()[Control.history.model._meta.label_lower]
    assert not chained.personal, "the bench chains rows without personal fields"
    attnames = chained.attnames
    user_attname = chained.user_attname
    assert user_attname is not None
    schema, _ = ChainSchema.objects.get_or_create(model_label=chained.label, fields=",".join(attnames))
    head = ChainHead.objects.get()
    seq, prev_hash = head.seq, head.hash
    frontier = tlog.Frontier.load(seq, node_getter())
    usernames: dict[int, str] = {}
    user_model = get_user_model()
    recorded_at: datetime | None = None
    for batch in history_batches(before, after):
        links: list[tuple] = []
        nodes: list[tuple[int, int, str]] = []
        for row in batch:
            seq += 1
            actor_id = row[user_attname]
            if actor_id not in usernames:
                usernames[actor_id] = user_model._default_manager.get(pk=actor_id).get_username()
            recorded_at = row[chained.time_attname or "history_date"]
            fields = {
                "seq": seq,
                "model_label": chained.label,
                "row_pk": row[chained.model._meta.pk.attname],
                "row_hash": hashed_row_digest(row, attnames),
                "prev_hash": prev_hash,
                "recorded_at": recorded_at,
                "actor_id": actor_id,
                "actor_username": usernames[actor_id],
                "format": LINK_FORMAT,
            }
            link = ChainLink(**fields, schema_id=schema.pk, link_hash=link_digest(**fields))
            prev_hash = link.link_hash
            links.append(tuple(getattr(link, column) for column in LINK_COLUMNS))
            nodes += [(level, index, digest.hex()) for level, index, digest in frontier.append(link_leaf_hash(link))]
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            with raw.copy(f"COPY {ChainLink._meta.db_table} ({', '.join(LINK_COLUMNS)}) FROM STDIN") as copy:
                for values in links:
                    copy.write_row(values)
            with raw.copy('COPY evidence_treenode (level, "index", hash) FROM STDIN') as copy:
                for node in nodes:
                    copy.write_row(node)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE evidence_chainhead SET seq = %s, hash = %s, recorded_at = %s WHERE id = %s",
            [seq, prev_hash, recorded_at, head.pk],
        )
    return seq - head.seq


def generate(links: int) -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")  # bulk load: no row triggers
        before, after = insert_history_rows(links)
        chained = chain_rows(before, after)
        assert chained == links, f"chained {chained} rows, expected {links}"
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main() -> None:
    args = [arg for arg in sys.argv[1:] if arg != "--command"]
    links = int(args[0]) if args else 1_000_000
    from django.core.management import call_command

    from evidence import tlog
    from evidence.checkpoints import checkpoint_sign
    from evidence.enums import CheckpointReason
    from evidence.verify import verify_chain

    key = tlog.signer_generate(settings.EVIDENCE_LOG_ORIGIN).skey
    checkpoints = Path(tempfile.mkdtemp()) / "evidence-checkpoints.txt"
    with override_settings(EVIDENCE_SIGNING_KEY=key, EVIDENCE_CHECKPOINT_FILE=checkpoints):
        test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            call_command("load_seed_content", verbosity=0, stdout=io.StringIO())
            start = time.perf_counter()
            generate(links)
            checkpoint = checkpoint_sign(reason=CheckpointReason.MANUAL)
            generated = time.perf_counter() - start
            print(
                f"generate {links:,} links (SQL rows, ledger hashes, COPY), tree and checkpoint "
                f"{checkpoint.tree_size:,}: {generated:.1f} s"
            )
            reset_queries()
            start = time.perf_counter()
            result = verify_chain()
            took = time.perf_counter() - start
            print(
                f"verify_chain(): {result.links:,} links, {took:.1f} s, {result.links / took:,.0f} links/s, "
                f"ok={result.ok}, {result.checkpoints} checkpoint(s)"
            )
            if not result.ok:
                sys.exit(f"the generated chain does not verify: {result.broken}")
            if "--command" in sys.argv:  # the same walk again, as an operator runs it
                out = io.StringIO()
                start = time.perf_counter()
                call_command("verify_chain", verbosity=0, stdout=out)
                took = time.perf_counter() - start
                print(
                    f"manage.py verify_chain: {took:.1f} s, {result.links / took:,.0f} links/s, {out.getvalue().split(',')[0]}"
                )
        finally:
            connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
