"""Periodic jobs of requests (see ``core.schedule``)."""

import datetime as dt
from typing import Any

from django.conf import settings

from core.history import system_actor
from core.outbox import outbox_send_due, public_mail_counts_purge
from core.schedule import PeriodicJob

from .retention import retention_purge_all
from .services import tickets_expire_unverified


def housekeeping_interval() -> dt.timedelta:
    return dt.timedelta(seconds=settings.HOUSEKEEPING_INTERVAL_SECONDS)


def requests_housekeeping() -> dict[str, Any]:
    """Drain due mail (retries), drop the public-form mail counts of past days,
    expire unconfirmed data-subject requests and run every retention purge
    (tickets, then `RetentionDue` for the other apps)."""
    return {
        "mail": outbox_send_due(),
        "mail_counts_purged": public_mail_counts_purge(),
        "expired": tickets_expire_unverified(actor=system_actor()),
        "purged": retention_purge_all(),
    }


JOBS = [PeriodicJob(name="requests.housekeeping", run=requests_housekeeping, interval=housekeeping_interval)]
