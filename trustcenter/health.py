"""Probes for load balancers and operators.

`/healthz` is liveness: the process answers. It touches nothing else, so an
orchestrator never restarts healthy web processes because the database or the
cache is away.

`/readyz` is readiness: whether this server can do its work right now. It runs
each check below and answers 200 with every check's result, or 503 naming the
failing ones (`failing`). Either body is JSON:

    {"status": "ok" | "failing", "failing": [...], "checks": {name: {"ok": bool, ...}}}

- `database`: a query answers;
- `cache`: a value written to the shared cache reads back;
- `migrations`: no migration of the code is unapplied (a success is remembered for a minute);
- `worker`: a task worker beat (`core.heartbeat`) within `READYZ_WORKER_MAX_AGE_SECONDS`;
- `outbox`: the oldest mail due for sending waits less than `READYZ_OUTBOX_MAX_LAG_SECONDS`.

A failing check names its error class only, never its message (which may
carry a host name or a user).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.enums import MailStatus
from core.heartbeat import last_beat
from core.models import OutboxMail

Check = dict[str, Any]


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


def check_database() -> Check:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        return {"ok": cursor.fetchone() == (1,)}


def check_cache() -> Check:
    key = f"readyz:{secrets.token_hex(8)}"
    value = secrets.token_hex(8)
    cache.set(key, value, timeout=10)
    read = cache.get(key)
    cache.delete(key)
    return {"ok": read == value}


# Loading the migration graph costs a good part of a second; once everything was applied it stays so
# (short of a rollback), so a success is remembered this long in the process. A failure is never remembered.
MIGRATIONS_OK_FOR_SECONDS = 60.0
_migrations_ok_until = 0.0


def check_migrations() -> Check:
    global _migrations_ok_until
    if time.monotonic() < _migrations_ok_until:
        return {"ok": True, "unapplied": 0}
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not plan:
        _migrations_ok_until = time.monotonic() + MIGRATIONS_OK_FOR_SECONDS
    return {"ok": not plan, "unapplied": len(plan)}


def forget_migrations_check() -> None:
    """Check the migrations afresh on the next probe."""
    global _migrations_ok_until
    _migrations_ok_until = 0.0


def _age_seconds(moment: Any) -> int:
    return max(0, int((timezone.now() - moment).total_seconds()))


def check_worker() -> Check:
    beat = last_beat()
    limit = settings.READYZ_WORKER_MAX_AGE_SECONDS
    if beat is None:
        return {"ok": False, "last_beat_seconds_ago": None, "limit_seconds": limit}
    age = _age_seconds(beat)
    return {"ok": age <= limit, "last_beat_seconds_ago": age, "limit_seconds": limit}


def check_outbox() -> Check:
    oldest = (
        # Due mail, and mail whose sending claim expired (its worker died).
        OutboxMail.objects.filter(
            status__in=[MailStatus.QUEUED, MailStatus.SENDING], next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    limit = settings.READYZ_OUTBOX_MAX_LAG_SECONDS
    lag = 0 if oldest is None else _age_seconds(oldest)
    return {"ok": lag <= limit, "lag_seconds": lag, "limit_seconds": limit}


CHECKS: dict[str, Callable[[], Check]] = {
    "database": check_database,
    "cache": check_cache,
    "migrations": check_migrations,
    "worker": check_worker,
    "outbox": check_outbox,
}


def run_check(check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:  # a probe reports every failure as its answer
        return {"ok": False, "error": type(exc).__name__}


@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: every check's result; 503 naming the failing ones."""
    results = {name: run_check(check) for name, check in CHECKS.items()}
    failing = [name for name, result in results.items() if not result["ok"]]
    body = {"status": "failing" if failing else "ok", "failing": failing, "checks": results}
    return JsonResponse(body, status=503 if failing else 200)
