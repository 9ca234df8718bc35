"""Periodic jobs of webhooks (see ``core.schedule``)."""

import datetime as dt

from django.conf import settings

from core.schedule import PeriodicJob

from .delivery import deliveries_send_due


def deliveries_interval() -> dt.timedelta:
    return dt.timedelta(seconds=settings.HOUSEKEEPING_INTERVAL_SECONDS)


def webhooks_deliveries() -> dict[str, int]:
    """Send every queued delivery whose try is due (the net under the per-delivery tasks)."""
    return deliveries_send_due()


JOBS = [PeriodicJob(name="webhooks.deliveries", run=webhooks_deliveries, interval=deliveries_interval)]
