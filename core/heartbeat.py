"""The task worker's heartbeat, and what `/readyz` reads of it.

``beat()`` records that this worker process is alive: one row per process
(host and pid) in ``core_workerheartbeat``, in the database every web server
and worker shares. The worker calls it from its loop; the periodic job
``core.heartbeat`` (``core/periodic.py``) calls it too, so a worker that runs
tasks beats even where its loop does not. Calls closer together than
``MIN_BEAT_SECONDS`` in one process write nothing, so a loop may call it on
every turn. Rows of workers silent for a day are deleted.

``last_beat()`` is the newest beat of any worker, or None.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time

from django.utils import timezone

MIN_BEAT_SECONDS = 5.0
FORGET_AFTER = dt.timedelta(days=1)

_last_written: dict[str, float] = {}


def worker_name() -> str:
    """This process, as its heartbeat row names it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def beat(*, now: dt.datetime | None = None) -> bool:
    """Record that this worker process is alive; True when a row was written."""
    from .models import WorkerHeartbeat

    name = worker_name()
    tick = time.monotonic()
    last = _last_written.get(name)
    if now is None and last is not None and tick - last < MIN_BEAT_SECONDS:
        return False
    now = now or timezone.now()
    WorkerHeartbeat.objects.update_or_create(worker=name, defaults={"beat_at": now})
    WorkerHeartbeat.objects.filter(beat_at__lt=now - FORGET_AFTER).delete()
    _last_written[name] = tick
    return True


def last_beat() -> dt.datetime | None:
    """The newest heartbeat of any worker."""
    from .models import WorkerHeartbeat

    return WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True).first()


def heartbeat_job() -> dict[str, str]:
    """The periodic job: beat from whichever worker runs it."""
    beat(now=timezone.now())
    return {"worker": worker_name()}
