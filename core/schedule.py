"""Periodic jobs: declared by each app, run by the task worker, once per slot.

An app declares its jobs in its own ``periodic.py`` as ``JOBS``, a list of
``PeriodicJob`` (a name, a function without arguments returning something
JSON-serialisable, and its interval). ``declared_jobs()`` collects them from
every installed app, the way the admin finds ``admin.py``.

Each job has one row, ``PeriodicJobSlot``: the slot its next run is for
(``next_run_at``) and the slot a run was queued for (``queued_for``).

- ``schedule_ensure()`` (after ``migrate``, by ``manage.py schedule_housekeeping``
  and when ``scripts/run`` starts) creates missing rows and queues the task
  ``core.schedule.periodic_job_task`` for every slot that has none queued, or whose
  queued run is overdue by more than an interval, 15 minutes at least (a lost task).
- The task claims the slot: it locks the row (``select_for_update``) and runs
  only if the row still names that slot; it moves ``next_run_at`` to one
  interval after *now* and queues the run for it in the same transaction, then
  runs the job outside the lock. A slot run by another worker, a duplicate
  queueing or a stale task finds the row moved on and does nothing.
- Missed slots (no worker for a day) are caught up once: the waiting run is
  run, and the next slot is counted from then, not from the missed ones.
- The next run is queued before the job runs, so a failing job never stops
  the schedule; a run claimed by a worker that dies is not retried, the next
  slot comes one interval later.

Nothing here reads the task backend's own tables.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import module_has_submodule
from django_tasks import task

logger = logging.getLogger(__name__)

RAN = "ran"
SKIPPED = "skipped"
# A queued run this much (or one interval, if longer) past its slot counts as
# lost and is queued again; a duplicate is harmless (only one claims the slot).
LOST_AFTER = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class PeriodicJob:
    """A job an app wants run every ``interval()`` (a callable, so settings apply when read)."""

    name: str
    run: Callable[[], Any]
    interval: Callable[[], dt.timedelta]


def declared_jobs() -> dict[str, PeriodicJob]:
    """Every app's ``periodic.JOBS``, by name; a name declared twice is an error."""
    jobs: dict[str, PeriodicJob] = {}
    for config in apps.get_app_configs():
        if not module_has_submodule(config.module, "periodic"):
            continue
        module = importlib.import_module(f"{config.name}.periodic")
        for job in module.JOBS:
            if job.name in jobs:
                raise ValueError(f"Periodic job {job.name!r} is declared twice")
            jobs[job.name] = job
    return dict(sorted(jobs.items()))


def _queue(name: str, slot: dt.datetime) -> None:
    periodic_job_task.using(run_after=slot).enqueue(name, slot.isoformat())


def schedule_ensure(*, now: dt.datetime | None = None) -> list[str]:
    """Make sure every declared job has its next run queued; returns the names queued now.

    Idempotent: with a run waiting for the current slot nothing is queued, and
    two callers at once are serialised by the row lock.
    """
    from .models import PeriodicJobSlot

    now = now or timezone.now()
    queued: list[str] = []
    for name, job in declared_jobs().items():
        with transaction.atomic():
            PeriodicJobSlot.objects.get_or_create(name=name, defaults={"next_run_at": now})
            slot = PeriodicJobSlot.objects.select_for_update().get(name=name)
            waiting = slot.queued_for == slot.next_run_at
            lost = waiting and slot.next_run_at + max(job.interval(), LOST_AFTER) < now
            if waiting and not lost:
                continue
            _queue(name, slot.next_run_at)
            slot.queued_for = slot.next_run_at
            slot.save(update_fields=["queued_for"])
            queued.append(name)
    if queued:
        logger.info("Periodic jobs queued: %s", ", ".join(queued))
    return queued


def periodic_job_claim(*, name: str, slot: dt.datetime, now: dt.datetime | None = None) -> bool:
    """Claim the run of ``name`` for ``slot``: True once per slot, for one caller.

    Side effects when claimed, in one transaction: the row moves to the next
    slot (one interval after now) and the run for it is queued.
    """
    from .models import PeriodicJobSlot

    job = declared_jobs()[name]
    now = now or timezone.now()
    with transaction.atomic():
        row = PeriodicJobSlot.objects.select_for_update().filter(name=name).first()
        if row is None or row.next_run_at != slot:
            return False
        if slot > now:
            # Run before its slot (clocks apart): come back then.
            _queue(name, slot)
            return False
        row.last_run_at = now
        row.next_run_at = now + job.interval()
        row.queued_for = row.next_run_at
        row.save(update_fields=["last_run_at", "next_run_at", "queued_for"])
        _queue(name, row.next_run_at)
    return True


def periodic_job_run(*, name: str, slot: dt.datetime) -> dict[str, Any]:
    """Run ``name`` for ``slot`` if this caller claims it; returns what happened."""
    if name not in declared_jobs():
        logger.warning("Periodic job %s is no longer declared; its run is dropped", name)
        return {"job": name, "outcome": SKIPPED}
    if not periodic_job_claim(name=name, slot=slot):
        return {"job": name, "outcome": SKIPPED}
    result = declared_jobs()[name].run()
    return {"job": name, "outcome": RAN, "result": result}


@task()
def periodic_job_task(name: str, slot: str) -> dict[str, Any]:
    """The worker's entry point: run the periodic job ``name`` for its slot (ISO time), once."""
    return periodic_job_run(name=name, slot=dt.datetime.fromisoformat(slot))
