"""Periodic jobs of the evidence ledger (see ``core.schedule``)."""

import datetime as dt

from django.conf import settings

from core.schedule import PeriodicJob

from .checkpoints import checkpoint_if_grown


def checkpoint_interval() -> dt.timedelta:
    return dt.timedelta(seconds=settings.EVIDENCE_CHECKPOINT_INTERVAL_SECONDS)


JOBS = [PeriodicJob(name="evidence.checkpoint", run=checkpoint_if_grown, interval=checkpoint_interval)]
