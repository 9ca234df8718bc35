"""Benchmark: the audit log, its export and the chain verifier with many rows.

Needs PostgreSQL: pass DATABASE_URL (a server you may create a database on).
It creates a throwaway database (Django's test database for that URL),
fills it with ROWS content history rows and their ledger links in bulk SQL,
prints figures, and drops the database. Asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trustcenter python bench/audit_log.py [ROWS]
"""

import io
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

import bench_postgres

bench_postgres.setup()

from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

T = TypeVar("T")


def timed(label: str, fn: Callable[[], T], runs: int = 5) -> T:
    reset_queries()  # the debug query log is capped; start from empty
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    per = (time.perf_counter() - start) / runs * 1000
    print(f"{label:<46} {per:9.2f} ms  {len(ctx.captured_queries):3d} queries")
    return result


def fill(rows: int) -> None:
    """ROWS history rows of controls (edits spread over two years) and their links.

    The hashes are placeholders: the audit log and exports do not check them.
    """
    from compliance.models import Control
    from core.history import system_actor
    from evidence.models import ChainHead, ChainLink, ChainSchema

    actor = system_actor()
    control = Control.objects.earliest("pk")
    history = Control.history.model
    attnames = sorted(f.attname for f in history._meta.concrete_fields)
    schema, _ = ChainSchema.objects.get_or_create(model_label="compliance.historicalcontrol", fields=",".join(attnames))
    start_seq = ChainHead.objects.get().seq
    start_time = timezone.now() - timedelta(days=730)
    step_us = int(730 * 86400 * 1_000_000 / rows)
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # bulk load: no row triggers
        cursor.execute(
            f"""INSERT INTO {history._meta.db_table}
                (id, slug, position, is_active, "group", title, body, status, section_id,
                 history_date, history_type, history_change_reason, history_user_id)
                SELECT %s, %s, g %% 1000, true, 'G', 'Control title ' || g, 'body', 'in_place', %s,
                       %s + (g::bigint * %s) * interval '1 microsecond', '~', 'bench edit ' || g, %s
                FROM generate_series(1, %s) AS g""",
            [control.pk, control.slug, control.section_id, start_time, step_us, actor.pk, rows],
        )
        cursor.execute(
            f"""INSERT INTO evidence_chainlink
                (seq, model_label, row_pk, schema_id, recorded_at, actor_id, row_hash, prev_hash, link_hash)
                SELECT %s + row_number() OVER (ORDER BY history_id), 'compliance.historicalcontrol', history_id,
                       %s, history_date, history_user_id, md5(history_id::text) || md5(history_id::text),
                       repeat('0', 64), repeat('0', 64)
                FROM {history._meta.db_table} WHERE history_change_reason LIKE 'bench edit %%'""",
            [start_seq, schema.pk],
        )
        cursor.execute(
            "UPDATE evidence_chainhead SET seq = (SELECT max(seq) FROM evidence_chainlink), "
            "recorded_at = (SELECT max(recorded_at) FROM evidence_chainlink)"
        )
        cursor.execute("SET session_replication_role = origin")
        cursor.execute("ANALYZE")
    print(f"ledger: {ChainLink.objects.order_by('-seq').values_list('seq', flat=True).first()} links")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    from django.core.management import call_command

    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        call_command("load_seed_content", verbosity=0, stdout=io.StringIO())
        from compliance.models import Certification
        from compliance.services import content_save
        from core.history import system_actor
        from evidence.export import write_export
        from evidence.selectors import AuditFilters, audit_log_page
        from evidence.verify import verify_chain

        # The verifier on a real chain (real hashes), before the bulk rows.
        actor = system_actor()
        cert = Certification.objects.earliest("pk")
        for i in range(2000):
            cert.target = f"target {i}"
            content_save(obj=cert, actor=actor, reason=f"edit {i}")
        start = time.perf_counter()
        result = verify_chain()
        took = time.perf_counter() - start
        print(
            f"verify_chain on {result.links} real links: {took:.2f} s ({result.links / took:,.0f} links/s), ok={result.ok}"
        )

        t = time.perf_counter()
        fill(rows)
        print(f"bulk fill: {time.perf_counter() - t:.1f} s")
        newest = audit_log_page(filters=AuditFilters(), size=1).entries[0].seq
        timed("audit log, newest page (50)", lambda: audit_log_page(filters=AuditFilters()))
        timed("audit log, page in the middle", lambda: audit_log_page(filters=AuditFilters(), before=newest // 2))
        timed("audit log, oldest pages", lambda: audit_log_page(filters=AuditFilters(), before=100))
        timed("audit log, by user", lambda: audit_log_page(filters=AuditFilters(user_id=actor.pk)))
        timed(
            "audit log, rare kind (certifications)",
            lambda: audit_log_page(filters=AuditFilters(model_label="compliance.historicalcertification")),
        )
        mid = (timezone.now() - timedelta(days=365)).date()
        timed("audit log, one day a year ago", lambda: audit_log_page(filters=AuditFilters(date_from=mid, date_to=mid)))
        timed(
            "audit log, one day a year ago, 3rd page",
            lambda: audit_log_page(
                filters=AuditFilters(date_from=mid, date_to=mid),
                before=audit_log_page(filters=AuditFilters(date_from=mid, date_to=mid)).older,
            ),
        )
        month_end = mid + timedelta(days=30)
        for fmt in ("csv", "jsonl"):
            out = io.BytesIO()
            t = time.perf_counter()
            manifest = write_export(out, date_from=mid, date_to=month_end, fmt=fmt)
            took = time.perf_counter() - t
            print(
                f"export {fmt}, 31 days: {manifest.row_count} rows, {len(out.getvalue()) / 1e6:.1f} MB, "
                f"{took:.1f} s ({manifest.row_count / took:,.0f} rows/s)"
            )
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
