"""Background tasks (Django Tasks API; `manage.py db_worker` runs them).

Besides sending each mail right after its transaction commits, the worker runs
a housekeeping task every HOUSEKEEPING_INTERVAL_SECONDS: it drains due mail
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

from .models import OutboxMail

logger = logging.getLogger(__name__)


@task()
def send_outbox_mail(mail_id: int) -> str:
    """Send one outbox mail; after a failure, schedule the next try at its backoff time."""
    from .outbox import enqueue_send, outbox_send_one

    outcome = outbox_send_one(mail_id=mail_id)
    if outcome in {"retry", "not_due"}:
        next_attempt_at = OutboxMail.objects.values_list("next_attempt_at", flat=True).get(pk=mail_id)
        enqueue_send(mail_id, run_after=next_attempt_at)
    return outcome


@task()
def requests_housekeeping() -> dict[str, Any]:
    """Periodic work for requests; always schedules its next run, even after an error."""
    from compliance.services import system_actor

    from .outbox import outbox_send_due
    from .retention import retention_purge_all
    from .services import tickets_expire_unverified

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
