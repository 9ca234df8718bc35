"""Background tasks (Django Tasks API; `manage.py db_worker` runs them).

Mail is sent by `core.outbox.send_outbox_mail`. The worker also runs a
housekeeping task every HOUSEKEEPING_INTERVAL_SECONDS: it drains due mail
(retries), expires unconfirmed data-subject requests and runs every retention
purge (tickets, and those other apps register in `retention.PURGE_HOOKS`).
The task schedules its own next run; `schedule_housekeeping` (run after each
deploy) makes sure one run is queued.
"""

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from core.history import system_actor
from core.outbox import outbox_send_due

from .retention import retention_purge_all
from .services import tickets_expire_unverified

logger = logging.getLogger(__name__)


@task()
def requests_housekeeping() -> dict[str, Any]:
    """Periodic work for requests; always schedules its next run, even after an error."""
    try:
        return {
            "mail": outbox_send_due(),
            "expired": tickets_expire_unverified(actor=system_actor()),
            "purged": retention_purge_all(),
        }
    finally:
        housekeeping_schedule(force=True)


def housekeeping_schedule(*, force: bool = False) -> bool:
    """Queue the next housekeeping run unless one is already waiting (database
    backend). Returns whether a run was queued."""
    if not force and _housekeeping_waiting():
        return False
    run_after = timezone.now() + dt.timedelta(seconds=settings.HOUSEKEEPING_INTERVAL_SECONDS)
    requests_housekeeping.using(run_after=run_after).enqueue()
    return True


def _housekeeping_waiting() -> bool:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path=requests_housekeeping.module_path,
        status="READY",
    ).exists()
