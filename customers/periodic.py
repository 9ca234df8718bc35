"""Periodic jobs of customers (see ``core.schedule``)."""

import datetime as dt

from core.schedule import PeriodicJob

from .retention import contacts_purge


def daily() -> dt.timedelta:
    return dt.timedelta(days=1)


JOBS = [PeriodicJob(name="customers.retention", run=contacts_purge, interval=daily)]
