"""The public side against the framework floor, as visitors' traffic hits it.

Starts its own Redis (a free port, no persistence) and gunicorn (sync, 2
workers) with the production settings on a fresh PostgreSQL database, loads
the seed content (version 1), and drives each public URL with wrk (32
connections). The floor is the page's own bytes returned from memory by a plain
view (`/bench/floor`, which exists only because this script sets
TRUSTCENTER_BENCH_FLOOR_FILE) through the same middleware in the same servers.

Each round runs the floor, then each URL followed by the floor again; a URL's
share is its rate over the mean of the floor runs on either side of it, and
each round starts with the next URL. The figure printed is the median share of `--rounds` rounds (5). The machine may be shared and noisy: the ratios are the
result, the absolute rates only context.

Then the page of the static export (`manage.py export_static_site`), served
by Debian's nginx with deploy/nginx-static-export.conf, one wrk run, as a
multiple of the floor.

Then, in this process with the same settings: queries per warm request of each
URL (exactly, on the connection), and the cold render of a new version
(publication approved, first request of each URL: queries and milliseconds).

Run with `make bench`, or `python bench/public_wrk.py [--duration 10] [--rounds 3]`.
Needs wrk, redis-server and a PostgreSQL server (BENCH_POSTGRES_URL, by default
postgres://postgres@127.0.0.1:5432/trustcenter; the benchmark creates and drops
its own database next to that one).
"""

import argparse
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
# A key for the benchmark's own checkpoints only (the test suite's fixed key).
SIGNING_KEY = "PRIVATE+KEY+trust.test/evidence+7b1d380b+AfQ1ViAZ8f5amCkeI1NHWAWQepWFMphtNBgl7lVgh5DJ"

ETAG = "(the page's ETag)"  # filled in once known
TARGETS: list[tuple[str, str, dict[str, str]]] = [
    ("page", "/", {}),
    ("304", "/", {"If-None-Match": ETAG}),
    ("trust.json", "/trust.json", {}),
    ("security.txt", "/.well-known/security.txt", {}),
    ("feed", "/feed.atom", {}),
    ("changelog", "/changelog/", {}),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http://127.0.0.1 only)
                response.read()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (http://127.0.0.1 only)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def wrk(url: str, headers: dict[str, str], duration: int, connections: int) -> tuple[float, int]:
    """Requests per second, and how many answers were not 2xx/3xx."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, int(bad.group(1)) if bad else 0


def database_url(base: str, name: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + name


def psql(base: str, sql: str) -> None:
    subprocess.run(
        ["psql", database_url(base, "postgres"), "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    for tool in ("wrk", "redis-server", "psql"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (Debian: apt-get install {tool if tool != 'psql' else 'postgresql-client'}).")

    base = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/trustcenter")
    dbname = f"trustcenter_bench_public_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="bench-public-"))
    floor_file = work / "floor.html"
    floor_file.write_bytes(b"")
    web_port, redis_port = free_port(), free_port()
    site = f"http://127.0.0.1:{web_port}"
    env = {
        **os.environ,
        "TRUSTCENTER_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "false",
        "SITE_URL": site,
        "DATABASE_URL": database_url(base, dbname),
        "CACHE_URL": f"redis://127.0.0.1:{redis_port}/0",
        "EVIDENCE_SIGNING_KEY": SIGNING_KEY,
        "EVIDENCE_CHECKPOINT_FILE": str(work / "checkpoints.txt"),
        "STATIC_ROOT": str(work / "static"),
        "PRIVATE_MEDIA_ROOT": str(work / "private"),
        "LOG_LEVEL": "WARNING",
        "TRUSTCENTER_BENCH_FLOOR_FILE": str(floor_file),
        "DJANGO_SETTINGS_MODULE": "trustcenter.settings",
    }
    env.pop("CONN_MAX_AGE", None)  # the shipped default
    processes: list[subprocess.Popen[bytes]] = []
    psql(base, f'CREATE DATABASE "{dbname}"')
    try:
        processes.append(
            subprocess.Popen(
                ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )
        )
        for command in (["migrate"], ["collectstatic", "--noinput"], ["load_seed_content"]):
            subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
        processes.append(
            subprocess.Popen(
                [GUNICORN, "trustcenter.wsgi", "-k", "sync", "-w", "2", "-b", f"127.0.0.1:{web_port}"],
                cwd=ROOT,
                env=env,
            )
        )
        wait_for(f"{site}/healthz")
        status, headers, page = fetch(f"{site}/")
        assert status == 200, status
        floor_file.write_bytes(page)  # read by each worker on its first floor request
        etag = headers["ETag"]
        status, _, floor = fetch(f"{site}/bench/floor")
        assert (status, floor) == (200, page), "the floor must return the page's own bytes"
        targets = [
            (name, path, {k: etag if v == ETAG else v for k, v in extra.items()}) for name, path, extra in TARGETS
        ]
        for name, path, extra in targets:
            status, _, _ = fetch(f"{site}{path}", extra)
            assert status == (304 if name == "304" else 200), (name, status)
            wrk(f"{site}{path}", extra, 1, args.connections)  # warm every worker

        shares: dict[str, list[float]] = {name: [] for name, _, _ in targets}
        rates: dict[str, list[float]] = {name: [] for name, _, _ in [("floor", "", {}), *targets]}

        def floor_run() -> float:
            rate, bad = wrk(f"{site}/bench/floor", {}, args.duration, args.connections)
            assert bad == 0, f"floor: {bad} bad answers"
            rates["floor"].append(rate)
            return rate

        for round_number in range(1, args.rounds + 1):
            before = floor_run()
            # A different URL goes first in each round: none is always measured last.
            shift = (round_number - 1) % len(targets)
            for name, path, extra in targets[shift:] + targets[:shift]:
                # Each URL between two runs of the floor, against their mean: a
                # machine that speeds up or slows down moves both sides alike.
                rate, bad = wrk(f"{site}{path}", extra, args.duration, args.connections)
                assert bad == 0, f"{name}: {bad} bad answers"
                after = floor_run()
                reference = (before + after) / 2
                rates[name].append(rate)
                shares[name].append(rate / reference)
                print(
                    f"round {round_number}: {name:<12} {rate:8.0f} req/s, floor {before:6.0f} and {after:6.0f}"
                    f"  {rate / reference:5.2f} of the floor",
                    flush=True,
                )
                before = after

        static_rate = static_export_rate(env, work, args)
        if static_rate is not None:
            rates["static export (nginx)"] = [static_rate]

        print(f"\nMedian of {args.rounds} rounds, wrk {args.connections} connections, {args.duration} s each:")
        print(f"{'':<14}{'req/s':>9}  share of the floor")
        print(f"{'floor':<14}{statistics.median(rates['floor']):9.0f}  1.00")
        for name, _, _ in targets:
            print(f"{name:<14}{statistics.median(rates[name]):9.0f}  {statistics.median(shares[name]):.2f}")
        if static_rate is not None:
            floor_median = statistics.median(rates["floor"])
            print(f"\nThe page from the static export, served by nginx (one run): {static_rate:.0f} req/s,")
            print(f"  {static_rate / floor_median:.1f} times the floor's median")
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)

    in_process(env, targets)
    psql(base, f'DROP DATABASE "{dbname}" WITH (FORCE)')
    shutil.rmtree(work, ignore_errors=True)


def static_export_rate(env: dict[str, str], work: Path, args: argparse.Namespace) -> float | None:
    """The page as `manage.py export_static_site` writes it, served by Debian's nginx
    with deploy/nginx-static-export.conf (one wrk run); None without nginx."""
    sys.path.insert(0, str(ROOT))
    from tests.nginx import NGINX, free_port, nginx_running

    if not Path(NGINX).exists():
        print("nginx is not installed: the static export is not measured (Debian: apt-get install nginx)")
        return None
    site = work / "export"
    subprocess.run([PYTHON, "manage.py", "export_static_site", str(site)], cwd=ROOT, env=env, check=True)
    port = free_port()
    server = f"""
  access_log off;
  server {{
    listen 127.0.0.1:{port};
    root {site};
    include {ROOT / "deploy" / "nginx-static-export.conf"};
  }}"""
    with nginx_running(work / "nginx", server, port):
        status, _, body = fetch(f"http://127.0.0.1:{port}/")
        assert status == 200 and b"</html>" in body, status
        wrk(f"http://127.0.0.1:{port}/", {}, 1, args.connections)
        rate, bad = wrk(f"http://127.0.0.1:{port}/", {}, args.duration, args.connections)
    assert bad == 0, f"static export: {bad} bad answers"
    return rate


def in_process(env: dict[str, str], targets: list[tuple[str, str, dict[str, str]]]) -> None:
    """Queries per warm request, and the cold render of a new version, with the
    same settings in this process (its Redis is gone: the cache is this process's)."""
    os.environ.update({**env, "CACHE_URL": "locmemcache://bench"})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from compliance import live
    from tests.factories import SubprocessorFactory

    client = Client()
    live.monotonic = lambda: 0.0  # counts must not depend on this machine's speed: the memo expires when told

    def request(path: str, extra: dict[str, str]) -> tuple[int, float, int]:
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(path, headers=extra)
            took = (time.perf_counter() - start) * 1000
        return response.status_code, took, len(queries)

    print("\nQueries per request (warm: the live-version memo fresh, the bodies cached):")
    for name, path, _ in targets:
        extra = {"If-None-Match": client.get("/")["ETag"]} if name == "304" else {}
        request(path, extra)
        _, _, count = request(path, extra)
        print(f"  {name:<14} {count} queries")
    live.live_state_forget()
    _, _, count = request("/", {})
    live.live_state_forget()
    print(f"  page, memo expired (at most once a second per process): {count} query")

    publish_new_version(SubprocessorFactory)
    print("\nCold render of a new version (first request of each URL after approval):")
    for name, path, _ in targets:
        if name == "304":
            continue
        status, took, count = request(path, {})
        assert status == 200, (name, status)
        print(f"  {name:<14} {count:3d} queries  {took:7.1f} ms")


def publish_new_version(factory: Any) -> None:
    from django.contrib.auth import get_user_model

    from compliance import services

    User = get_user_model()
    asker = User.objects.create(username="bench-asker", is_superuser=True, is_staff=True)
    approver = User.objects.create(username="bench-approver", is_superuser=True, is_staff=True)
    factory.create(actor=asker, slug="bench-new", name="Bench Sub")
    request = services.publication_request(summary="benchmark version", actor=asker)
    services.publication_approve(request_id=request.pk, actor=approver)


if __name__ == "__main__":
    main()
