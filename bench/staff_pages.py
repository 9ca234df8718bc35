"""Benchmark: the staff pages at scale, the ticket queue with TICKETS tickets
(100,000 by default) and the audit log with LINKS links (1,000,000 by default).

Needs PostgreSQL: pass DATABASE_URL (a server you may create a database on).
It creates a throwaway database (Django's test database for that URL), loads
the seed content, inserts the tickets in one SQL statement (triggers off, as a
bulk load), chains LINKS history rows with `verify_chain.generate` (real
hashes, written by COPY), then opens each page through the test client, signed
in as the role that uses it (a Request handler, an Auditor), and prints the
median of RUNS runs in milliseconds, the page's query count and the time
those queries took (one run). Drops the
database at the end. Asserts nothing; figures go to docs/benchmarks.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trustcenter python bench/staff_pages.py [TICKETS] [LINKS]
"""

import io
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import bench_postgres

bench_postgres.setup()

import verify_chain  # noqa: E402  (bench/verify_chain.py: the chain generator)
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

RUNS = 7


def insert_tickets(count: int, assignee_id: int) -> None:
    """COUNT tickets over the last two years: a third data-subject requests
    (half of them verified), statuses in turn, one in four assigned, due five
    days after receipt."""
    from requests_app.enums import TicketStatus
    from requests_app.models import Ticket

    table = Ticket._meta.db_table
    statuses = "ARRAY[" + ", ".join(f"'{status.value}'" for status in TicketStatus) + "]"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # bulk load: no row triggers
        cursor.execute(
            f"""INSERT INTO {table}
                (reference, kind, status, requester_name, requester_email, account_email, legal_entity,
                 details, form_data, received_at, due_at, original_due_at, extension_reason, verified_at,
                 acting_for_another, assignee_id, legal_hold, closed_at, status_changed_at,
                 status_link_nonce, status_token_hash, submission_token)
                SELECT CASE WHEN g %% 3 = 0 THEN 'DSR' ELSE 'DPA' END || '-' || g,
                       CASE WHEN g %% 3 = 0 THEN 'dsr_access' ELSE 'dpa' END,
                       s.status,
                       'Requester ' || g, 'requester' || g || '@example.org',
                       CASE WHEN g %% 3 = 0 THEN 'account' || g || '@example.com' ELSE '' END,
                       'Example ' || g, 'details', '{{}}',
                       t.received, t.received + interval '5 days', t.received + interval '5 days', '',
                       CASE WHEN g %% 6 = 0 THEN t.received + interval '1 day' END,
                       false, CASE WHEN g %% 4 = 0 THEN %s END, false,
                       CASE WHEN s.status = 'closed' THEN t.received + interval '6 days' END,
                       t.received, md5('n' || g), md5('h' || g), md5('s' || g)
                FROM generate_series(1, %s) AS g,
                     LATERAL (SELECT now() - (%s - g) * interval '10 minutes' AS received) AS t,
                     LATERAL (SELECT ({statuses})[1 + g %% {len(TicketStatus)}] AS status) AS s""",
            [assignee_id, count, count],
        )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")


def staff(username: str, group: str) -> Any:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model()._default_manager.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


class Counter:
    """Counts the queries run on the connection and the time they take (an
    execute wrapper: it sees them whether or not the query log is on)."""

    def __init__(self) -> None:
        self.queries = 0
        self.seconds = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries += 1
            self.seconds += time.perf_counter() - start


def measure(client: Client, label: str, url: str, params: dict[str, str]) -> None:
    response = client.get(url, params)
    assert response.status_code == 200, (label, response.status_code)
    counter = Counter()
    with connection.execute_wrapper(counter):
        client.get(url, params)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        client.get(url, params)
        times.append((time.perf_counter() - start) * 1000)
    print(
        f"{label:<44} {statistics.median(times):8.1f} ms  {counter.queries:3d} queries"
        f"  {counter.seconds * 1000:7.1f} ms SQL"
    )


def main() -> None:
    args = sys.argv[1:]
    tickets = int(args[0]) if args else 100_000
    links = int(args[1]) if len(args) > 1 else 1_000_000
    from django.core.management import call_command

    from evidence import tlog

    key = tlog.signer_generate(settings.EVIDENCE_LOG_ORIGIN).skey
    checkpoints = Path(tempfile.mkdtemp()) / "evidence-checkpoints.txt"
    with override_settings(EVIDENCE_SIGNING_KEY=key, EVIDENCE_CHECKPOINT_FILE=checkpoints, DEBUG=False):
        test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        # One connection for the whole run, as in production with persistent
        # connections: the figures are the pages' own, not a connection's set-up.
        connection.settings_dict["CONN_MAX_AGE"] = None
        try:
            call_command("load_seed_content", verbosity=0, stdout=io.StringIO())
            handler = staff("handler", "Request handler")
            auditor = staff("auditor", "Auditor")
            start = time.perf_counter()
            insert_tickets(tickets, handler.pk)
            print(f"generate {tickets:,} tickets (one SQL statement): {time.perf_counter() - start:.1f} s")

            from requests_app.models import Ticket

            one = Ticket.objects.order_by("id")[tickets // 2]
            client = Client()
            client.force_login(handler)
            queue = reverse("admin:requests_app_ticket_changelist")
            print(f"\nticket queue, {tickets:,} tickets, as a Request handler")
            measure(client, "first page", queue, {})
            measure(client, "filter: status open", queue, {"status__exact": "open"})
            measure(client, "filter: kind data-subject access", queue, {"kind__exact": "dsr_access"})
            measure(client, "filter: assigned to me", queue, {"assignee__id__exact": str(handler.pk)})
            measure(client, "filter: overdue", queue, {"due": "overdue"})
            measure(client, "filter: not verified", queue, {"verification": "unverified"})
            measure(client, "filter: status closed, kind dpa", queue, {"status__exact": "closed", "kind__exact": "dpa"})
            measure(client, "search: a reference", queue, {"q": one.reference.lower()})
            measure(client, "search: an email address", queue, {"q": one.requester_email.upper()})
            measure(client, "search: no match", queue, {"q": "nobody@example.net"})
            measure(client, "page 100", queue, {"p": "100"})

            if not links:
                return
            start = time.perf_counter()
            verify_chain.generate(links)
            print(f"\ngenerate {links:,} links (SQL rows, ledger hashes, COPY): {time.perf_counter() - start:.1f} s")
            client.force_login(auditor)
            log = reverse("admin:evidence_auditlog_changelist")
            from evidence.models import ChainLink

            newest = ChainLink.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
            day = timezone.now().date().isoformat()
            yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()
            print(f"\naudit log, {newest:,} links, as an Auditor")
            measure(client, "first page", log, {})
            measure(client, "older page (middle of the chain)", log, {"before": str(newest // 2)})
            measure(client, "filter: user system", log, {"user": "system"})
            measure(client, "filter: user nobody", log, {"user": "nobody"})
            measure(client, "filter: kind certification (rare)", log, {"model": "compliance.historicalcertification"})
            measure(client, "filter: kind control (common)", log, {"model": "compliance.historicalcontrol"})
            measure(client, "filter: today (all the links)", log, {"date_from": day, "date_to": day})
            measure(client, "filter: yesterday (none)", log, {"date_from": yesterday, "date_to": yesterday})
            measure(
                client,
                "filter: kind and user and dates",
                log,
                {"model": "compliance.historicalcontrol", "user": "system", "date_from": "2020-01-01", "date_to": day},
            )
        finally:
            connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
