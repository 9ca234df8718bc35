"""Periodic jobs of core (see ``core.schedule``)."""

import datetime as dt

from django.conf import settings

from .heartbeat import heartbeat_job
from .schedule import PeriodicJob


def heartbeat_interval() -> dt.timedelta:
    return dt.timedelta(seconds=settings.WORKER_HEARTBEAT_INTERVAL_SECONDS)


JOBS = [PeriodicJob(name="core.heartbeat", run=heartbeat_job, interval=heartbeat_interval)]
