"""Benchmarks: print figures, assert nothing.

Measures the public page (build the snapshot and render it) with few and many
rows per section, on a throwaway SQLite database (or DATABASE_URL if set).
Run with `make bench`.
"""

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
    print(f"page {label:<28} {per:8.2f} ms/request  {len(ctx.captured_queries):3d} queries  {len(response.content):7d} bytes")
    return per


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("load_seed_content", verbosity=0, stdout=open(os.devnull, "w"))
    from compliance.services import system_actor
    from tests.factories import add_rows_per_section

    client = Client()
    base = measure_page(client, "seed content")
    add_rows_per_section(100, system_actor(), prefix="bench")
    big = measure_page(client, "seed + 100 rows per section")
    print(f"ratio many/seed: {big / base:.2f}x (same run)")


if __name__ == "__main__":
    main()
