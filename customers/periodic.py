"""Periodic jobs of customers (see ``core.schedule``)."""

import datetime as dt

from django.conf import settings

from core.schedule import PeriodicJob

from .retention import contacts_purge


def housekeeping_interval() -> dt.timedelta:
    """With the other retention purges (the requests housekeeping)."""
    return dt.timedelta(seconds=settings.HOUSEKEEPING_INTERVAL_SECONDS)


JOBS = [PeriodicJob(name="customers.retention", run=contacts_purge, interval=housekeeping_interval)]
