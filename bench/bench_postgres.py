"""The start of every benchmark that needs PostgreSQL: Django set up on DATABASE_URL.

Imported first by those benchmarks (before any Django import), run as scripts
from the checkout: `python bench/<name>.py`.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup() -> None:
    """Set Django up on the PostgreSQL server of DATABASE_URL, or exit saying it is needed."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustcenter.settings")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server: this benchmark needs bulk SQL and many rows.")
    import django

    django.setup()
