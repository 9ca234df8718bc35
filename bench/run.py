"""Benchmarks: print figures, assert nothing.

Measures, with few and with many rows per section, on a throwaway SQLite
database (or DATABASE_URL if set):
- the public page as visitors get it (the live publication, cached by version),
- a conditional GET answered 304,
- building the draft snapshot and rendering it (what preview and publication do).
Run with `make bench`.
"""

import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustcenter.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def measure_page(client: Client, label: str, runs: int = 50) -> float:
    reset_queries()  # the debug query log is capped; start from empty
    with CaptureQueriesContext(connection) as ctx:
        client.get("/")
    start = time.perf_counter()
    for _ in range(runs):
        response = client.get("/")
        assert response.status_code == 200
    per = (time.perf_counter() - start) / runs * 1000
    print(
        f"page {label:<28} {per:8.2f} ms/request  {len(ctx.captured_queries):3d} queries  {len(response.content):7d} bytes"
    )
    return per


def measure_draft(label: str, runs: int = 20) -> float:
    from django.template.loader import render_to_string

    from compliance.snapshot import build_snapshot

    reset_queries()
    with CaptureQueriesContext(connection) as ctx:
        render_to_string("compliance/page.html", {"snapshot": build_snapshot()})
    start = time.perf_counter()
    for _ in range(runs):
        render_to_string("compliance/page.html", {"snapshot": build_snapshot()})
    per = (time.perf_counter() - start) / runs * 1000
    print(f"draft {label:<27} {per:8.2f} ms/build  {len(ctx.captured_queries):3d} queries")
    return per


def measure_304(client: Client, label: str, runs: int = 50) -> float:
    etag = client.get("/")["ETag"]
    start = time.perf_counter()
    for _ in range(runs):
        assert client.get("/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    per = (time.perf_counter() - start) / runs * 1000
    print(f"304  {label:<28} {per:8.2f} ms/request")
    return per


def publish() -> None:
    from django.contrib.auth import get_user_model

    from compliance import services

    User = get_user_model()
    asker = User.objects.get_or_create(username="bench-asker", defaults={"is_superuser": True})[0]
    approver = User.objects.get_or_create(username="bench-approver", defaults={"is_superuser": True})[0]
    request = services.publication_request(summary="benchmark content", actor=asker)
    services.publication_approve(request_id=request.pk, actor=approver)


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("load_seed_content", verbosity=0, stdout=io.StringIO())
    from core.history import system_actor
    from tests.factories import add_rows_per_section

    client = Client()
    base = measure_page(client, "seed content")
    measure_304(client, "seed content")
    draft_base = measure_draft("seed content")
    add_rows_per_section(100, system_actor(), prefix="bench")
    publish()
    big = measure_page(client, "seed + 100 rows per section")
    measure_304(client, "seed + 100 rows per section")
    draft_big = measure_draft("seed + 100 rows per section")
    print(f"ratio many/seed, live page: {big / base:.2f}x; draft build: {draft_big / draft_base:.2f}x (same run)")


if __name__ == "__main__":
    main()
