"""Database restart under load: `make outage`. Prints figures, asserts what must hold.

Starts everything it needs itself, on ports of its own, and removes it after:
a throwaway PostgreSQL 15 cluster (initdb/pg_ctl, data under /tmp; never the
shared server), a throwaway Redis (rate limits), an SMTP sink (a process
counting what it receives), gunicorn (sync, 2 workers) and `manage.py
run_worker`, all in production mode. Then CLIENTS clients submit DPA requests
for DURATION seconds, as a browser does (GET the form, POST it with its CSRF
and submission tokens, follow the redirect to the confirmation page); a client
answered 503 waits `Retry-After` and sends the same form again. PostgreSQL is
restarted (`pg_ctl restart -m fast`) at RESTART_AT seconds.

Checks, after the load and after the worker drained the outbox:
- every reference a client saw belongs to exactly one ticket, with its token;
  no ticket a client did not see (committed but lost), none doubled;
- no partial rows: every ticket has its history row, its "submitted" event and
  its two mails; every mail was received once by the sink;
- no 500, the worker is the process started first and still alive, the outbox
  is drained; `verify_chain` passes.

Usage: python bench/outage.py [--clients 32] [--duration 60] [--restart-at 20]
"""

import argparse
import http.client
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
FORM_URL = "/requests/new/dpa/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on port {port} after {timeout} s")


# --- SMTP sink -------------------------------------------------------------------


def smtp_sink(port: int, log_path: str, ready, greeting_delay: float = 0.0) -> None:
    """A minimal SMTP server: accepts every mail, logs "<time> <recipients>" per mail.
    `greeting_delay` seconds pass before its greeting, as a remote relay's
    connection setup (TCP, TLS, EHLO, AUTH round trips) would take."""
    import asyncio

    log = open(log_path, "a", buffering=1)  # noqa: SIM115 (open for the process's life)

    async def session(reader, writer):
        await asyncio.sleep(greeting_delay)
        writer.write(b"220 sink ESMTP\r\n")
        recipients: list[str] = []
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
            elif verb == b"MAIL":
                recipients = []
                writer.write(b"250 OK\r\n")
            elif verb == b"RCPT":
                recipients.append(line.split(b"<", 1)[-1].split(b">", 1)[0].decode())
                writer.write(b"250 OK\r\n")
            elif verb == b"DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                while await reader.readline() not in (b".\r\n", b""):
                    pass
                log.write(f"{time.time():.3f} {','.join(recipients)}\n")
                writer.write(b"250 OK queued\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:  # HELO, RSET, NOOP
                writer.write(b"250 OK\r\n")
            await writer.drain()
        writer.close()

    async def main():
        server = await asyncio.start_server(session, "127.0.0.1", port)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# --- the load ----------------------------------------------------------------------

INPUT = re.compile(r'name="(csrfmiddlewaretoken|submission_token)" value="([^"]+)"')
REFERENCE = re.compile(r'data-testid="reference">([A-Z]+-\d{4}-\d{6})<')


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.status: Counter[str] = Counter()  # "<step> <status>"
        self.accepted: dict[str, str] = {}  # submission token -> reference shown
        self.unfinished: list[str] = []  # tokens sent at least once, never confirmed
        self.errors: Counter[str] = Counter()

    def count(self, step: str, status: int | str) -> None:
        with self.lock:
            self.status[f"{step} {status}"] += 1


def request(port: int, method: str, path: str, *, body: str | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def step(stats: Stats, name: str, port: int, method: str, path: str, expect: int, **kwargs: Any):
    """One request as a client makes it: (headers, body) when answered `expect`;
    otherwise None, after waiting as told (Retry-After) or half a second."""
    try:
        status, headers, html = request(port, method, path, **kwargs)
    except OSError as exc:
        stats.errors[type(exc).__name__] += 1
        time.sleep(0.5)
        return None
    stats.count(name, status)
    if status != expect:
        time.sleep(_retry_after(headers))
        return None
    return headers, html


def cookie(headers, name: str) -> str:
    return next(v.split(";", 1)[0] for k, v in headers if k.lower() == "set-cookie" and v.startswith(f"{name}="))


def client_loop(n: int, port: int, stop_at: float, give_up_at: float, stats: Stats) -> None:
    serial = 0
    while time.monotonic() < stop_at:
        serial += 1
        form = step(stats, "form", port, "GET", FORM_URL, 200)
        if form is None:
            continue
        fields = dict(INPUT.findall(form[1]))
        token = fields["submission_token"]
        body = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": fields["csrfmiddlewaretoken"],
                "submission_token": token,
                "website": "",
                "legal_entity": f"Client {n} GmbH",
                "account_email": f"admin-{n}-{serial}@example.com",
                "requester_name": f"Client {n}",
                "requester_email": f"c{n}-{serial}-{secrets.token_hex(3)}@example.com",
                "notes": "Load test",
            }
        )
        post_headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie(form[0], "csrftoken")}
        # Send the same form until it is confirmed (the token makes a retry safe).
        while True:
            if time.monotonic() > give_up_at:
                stats.unfinished.append(token)
                return
            posted = step(stats, "post", port, "POST", FORM_URL, 302, body=body, headers=post_headers)
            if posted is None:
                continue
            confirm = {"Cookie": cookie(posted[0], "tc_submitted")}
            page = step(stats, "confirmation", port, "GET", "/requests/submitted/", 200, headers=confirm)
            found = REFERENCE.search(page[1]) if page else None
            if found:
                with stats.lock:
                    stats.accepted[token] = found.group(1)
                break


def _retry_after(headers) -> float:
    for k, v in headers:
        if k.lower() == "retry-after":
            return min(float(v), 5.0)
    return 1.0


# --- the run -----------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--restart-at", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--backlog", type=int, default=1000, help="mails queued at once to measure the worker (0: skip)"
    )
    parser.add_argument(
        "--smtp-delay", type=float, default=0.0, help="seconds the SMTP sink takes to greet a new connection"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs) afterwards")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tc-outage-"))
    tmp.chmod(0o755)
    pgdata, sockdir = tmp / "pgdata", tmp / "sock"
    sockdir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
        shutil.chown(sockdir, "postgres")
    pg_port, redis_port, smtp_port, web_port = free_port(), free_port(), free_port(), free_port()
    procs: list[subprocess.Popen] = []
    pg_started = False

    def pg_ctl(*cmd: str, check: bool = True) -> float:
        start = time.monotonic()
        options = f"-p {pg_port} -k {sockdir} -c listen_addresses=127.0.0.1 -c max_connections=100"
        subprocess.run(
            as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(pgdata), "-l", str(tmp / "postgres.log"), "-w", "-o", options, *cmd]
            ),
            check=check,
            capture_output=True,
        )
        return time.monotonic() - start

    try:
        print(f"work dir {tmp}; PostgreSQL 15 on port {pg_port} (throwaway), web on {web_port}")
        subprocess.run(
            as_postgres([str(PG_BIN / "initdb"), "-D", str(pgdata), "-U", "postgres", "-A", "trust", "--no-sync"]),
            check=True,
            capture_output=True,
        )
        pg_ctl("start")
        pg_started = True
        db_url = f"postgres://postgres@127.0.0.1:{pg_port}/trustcenter"
        subprocess.run(
            as_postgres(
                [
                    str(PG_BIN.parent / "bin" / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(pg_port),
                    "-U",
                    "postgres",
                    "trustcenter",
                ]
            ),
            check=True,
        )
        procs.append(
            subprocess.Popen(
                ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )
        )
        ready = multiprocessing.Event()
        sink_log = tmp / "smtp.log"
        sink = multiprocessing.Process(
            target=smtp_sink, args=(smtp_port, str(sink_log), ready, args.smtp_delay), daemon=True
        )
        sink.start()
        ready.wait(10)

        keygen = subprocess.run(
            [PY, "manage.py", "evidence_keygen"],
            cwd=ROOT,
            env={**os.environ, "TRUSTCENTER_ENV": "development", "DATABASE_URL": "sqlite:///:memory:"},
            check=True,
            capture_output=True,
            text=True,
        )
        signing_key = keygen.stdout.split("EVIDENCE_SIGNING_KEY=", 1)[1].split()[0]
        env = {
            **os.environ,
            "TRUSTCENTER_ENV": "production",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": f"http://127.0.0.1:{web_port}",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": db_url,
            "CACHE_URL": f"redis://127.0.0.1:{redis_port}/0",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "STATIC_ROOT": str(tmp / "static"),
            "PRIVATE_MEDIA_ROOT": str(tmp / "private"),
            "EVIDENCE_SIGNING_KEY": signing_key,
            "EVIDENCE_CHECKPOINT_FILE": str(tmp / "checkpoints.txt"),
            "STAFF_NOTIFY_EMAILS": "queue@example.com",
            "REQUEST_RATE_PER_IP": "1000000/h",
            "REQUEST_RATE_PER_EMAIL": "1000000/h",
            "PUBLIC_MAIL_PER_ADDRESS_PER_DAY": "1000000",
            "LOG_LEVEL": "WARNING",
        }
        manage = lambda *a: subprocess.run([PY, "manage.py", *a], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: E731
        print("migrating, collecting static files, loading the seed content ...")
        manage("migrate", "--noinput")
        manage("collectstatic", "--noinput")
        manage("load_seed_content")
        manage("schedule_housekeeping")

        web_log = open(tmp / "gunicorn.log", "w")  # noqa: SIM115
        procs.append(
            subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/gunicorn"),
                    "trustcenter.wsgi",
                    "-w",
                    str(args.workers),
                    "-b",
                    f"127.0.0.1:{web_port}",
                ],
                cwd=ROOT,
                env=env,
                stdout=web_log,
                stderr=subprocess.STDOUT,
            )
        )
        worker_log = open(tmp / "worker.log", "w")  # noqa: SIM115
        worker = subprocess.Popen(
            [PY, "manage.py", "run_worker", "--no-startup-delay", "--backoff-max", "5"],
            cwd=ROOT,
            env={**env, "LOG_LEVEL": "INFO"},
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        procs.append(worker)
        wait_for_port(web_port)

        stats = Stats()
        start = time.monotonic()
        wall_start = time.time()
        stop_at = start + args.duration
        threads = [
            threading.Thread(target=client_loop, args=(n, web_port, stop_at, stop_at + 60, stats), daemon=True)
            for n in range(args.clients)
        ]
        for t in threads:
            t.start()
        time.sleep(max(args.restart_at - (time.monotonic() - start), 0))
        restart_seconds = pg_ctl("restart", "-m", "fast")
        print(f"PostgreSQL restarted at {time.monotonic() - start:.1f} s (pg_ctl restart took {restart_seconds:.2f} s)")
        for t in threads:
            t.join()
        load_end = time.time()
        load_seconds = time.monotonic() - start

        # The worker drains the outbox.
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={pg_port} user=postgres dbname=trustcenter", autocommit=True) as db:
            drain_deadline = time.monotonic() + 180
            while time.monotonic() < drain_deadline:
                if queued_mails(db) == 0:
                    break
                time.sleep(1)
            drained_at = time.time()
            figures = check(db, stats, sink_log, wall_start, load_end)
        worker_alive = worker.poll() is None
        chain = subprocess.run([PY, "manage.py", "verify_chain"], cwd=ROOT, env=env, capture_output=True, text=True)

        # The worker's capacity: a backlog queued at once, drained by this worker
        # (batches), then by one sending each mail over its own connection.
        capacity = {}
        if args.backlog and worker_alive:
            capacity["batched"] = drain_backlog(manage, pg_port, args.backlog, "batched")
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
            single = subprocess.Popen(
                [PY, "manage.py", "run_worker", "--no-startup-delay"],
                cwd=ROOT,
                env={**env, "OUTBOX_BATCH_SIZE": "1"},
                stdout=worker_log,
                stderr=subprocess.STDOUT,
            )
            procs.append(single)
            capacity["one connection per mail"] = drain_backlog(manage, pg_port, args.backlog, "single")

        statuses = stats.status
        count = lambda suffix: sum(n for k, n in statuses.items() if k.endswith(f" {suffix}"))  # noqa: E731
        worker_text = (tmp / "worker.log").read_text()
        print()
        print(
            f"clients {args.clients}, load {load_seconds:.0f} s, PostgreSQL restarted at {args.restart_at:.0f} s, "
            f"SMTP greeting delay {args.smtp_delay:.2f} s"
        )
        print("responses:", ", ".join(f"{k}: {n}" for k, n in sorted(statuses.items())))
        print(f"  500: {count(500)}   503: {count(503)}   connection errors: {dict(stats.errors) or 0}")
        print(f"tickets accepted (reference shown): {len(stats.accepted)}   in the database: {figures['tickets']}")
        print(f"  lost (committed, never shown): {figures['unseen']}   shown but missing: {figures['missing']}")
        print(f"  doubled: {figures['doubled']}   unfinished clients: {len(stats.unfinished)}")
        print(f"partial rows: {figures['partial']}")
        print(
            f"mails created: {figures['mails']}  sent once: {figures['sent_once']}  sent twice or more: {figures['resent']}"
        )
        print(
            f"  created {figures['created_per_s']:.1f}/s during the load; sent {figures['sent_per_s_load']:.1f}/s during the load"
        )
        print(
            f"  sent {figures['sent_per_s_busy']:.1f}/s while busy; outbox drained {drained_at - load_end:.1f} s after the load"
        )
        print(
            f"worker: {'alive, pid ' + str(worker.pid) if worker_alive else 'EXITED ' + str(worker.returncode)}; outages ridden out: {worker_text.count('Database reachable again')}"
        )
        for label, rate in capacity.items():
            print(f"worker capacity ({label}): {rate:.1f} mails/s draining {args.backlog} queued mails")
        print(
            f"verify_chain: {'ok' if chain.returncode == 0 else 'FAILED'} {chain.stdout.strip().splitlines()[-1] if chain.stdout.strip() else chain.stderr.strip()[-200:]}"
        )
        failures = [
            name
            for name, bad in [
                ("500 answered", count(500)),
                ("ticket lost", figures["unseen"] + figures["missing"]),
                ("ticket doubled", figures["doubled"]),
                ("partial rows", figures["partial"]),
                ("mail sent twice", figures["resent"]),
                ("outbox not drained", figures["queued"]),
                ("worker died", not worker_alive),
                ("chain", chain.returncode),
            ]
            if bad
        ]
        print("RESULT:", "ok" if not failures else "FAILED: " + ", ".join(failures))
        return 1 if failures else 0
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if pg_started:
            pg_ctl("stop", "-m", "immediate", check=False)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def queued_mails(db: Any) -> int:
    return db.execute("SELECT count(*) FROM requests_app_outboxmail WHERE status = 'queued'").fetchone()[0]


def drain_backlog(manage, pg_port: int, count: int, tag: str) -> float:
    """Queue `count` mails in one transaction; mails/s until the worker sent them all."""
    import psycopg

    manage(
        "shell",
        "-c",
        "from django.db import transaction\n"
        "from core.outbox import outbox_queue\n"
        "with transaction.atomic():\n"
        f"    for i in range({count}):\n"
        f"        outbox_queue(template='subscription_confirm', to=f'backlog-{tag}-{{i}}@example.com', subject='Backlog')\n",
    )
    start = time.monotonic()
    with psycopg.connect(f"host=127.0.0.1 port={pg_port} user=postgres dbname=trustcenter", autocommit=True) as db:
        while queued_mails(db):
            if time.monotonic() - start > 600:
                return 0.0
            time.sleep(0.2)
    return count / (time.monotonic() - start)


def check(db, stats: Stats, sink_log: Path, wall_start: float, load_end: float) -> dict:
    rows = db.execute("SELECT submission_token, reference FROM requests_app_ticket").fetchall()
    by_token = Counter(token for token, _ in rows)
    refs = {token: ref for token, ref in rows}
    missing = sum(1 for token, ref in stats.accepted.items() if refs.get(token) != ref)
    unseen = sum(1 for token in refs if token not in stats.accepted and token not in stats.unfinished)
    doubled = sum(n - 1 for n in by_token.values() if n > 1) + (len(rows) - len(set(refs.values())))
    partial = db.execute(
        """
        SELECT count(*) FROM requests_app_ticket t
        WHERE NOT EXISTS (SELECT 1 FROM requests_app_historicalticket h WHERE h.id = t.id)
           OR NOT EXISTS (SELECT 1 FROM requests_app_ticketevent e WHERE e.ticket_id = t.id)
           OR (SELECT count(*) FROM requests_app_outboxmail m
               WHERE m.about_id = t.id AND m.about_type_id = (
                   SELECT id FROM django_content_type WHERE app_label = 'requests_app' AND model = 'ticket')) <> 2
        """
    ).fetchone()[0]
    mails, queued = db.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'queued') FROM requests_app_outboxmail"
    ).fetchone()
    created_in_load = db.execute(
        "SELECT count(*) FROM requests_app_outboxmail WHERE created_at <= to_timestamp(%s)", [load_end]
    ).fetchone()[0]
    received = [line.split(" ", 1) for line in sink_log.read_text().splitlines() if line.strip()]
    per_recipient = Counter(rcpt for _, rcpt in received if rcpt != "queue@example.com")
    staff = sum(1 for _, rcpt in received if rcpt == "queue@example.com")
    times = sorted(float(t) for t, _ in received)
    sent_in_load = sum(1 for t in times if t <= load_end)
    busy = (times[-1] - times[0]) if len(times) > 1 else 0
    return {
        "tickets": len(rows),
        "missing": missing,
        "unseen": unseen,
        "doubled": doubled,
        "partial": partial,
        "mails": mails,
        "queued": queued,
        "sent_once": sum(1 for n in per_recipient.values() if n == 1) + min(staff, len(rows)),
        "resent": sum(n - 1 for n in per_recipient.values() if n > 1) + max(staff - len(rows), 0),
        "created_per_s": created_in_load / (load_end - wall_start),
        "sent_per_s_load": sent_in_load / (load_end - wall_start),
        "sent_per_s_busy": len(times) / busy if busy else 0.0,
    }


if __name__ == "__main__":
    sys.exit(main())
