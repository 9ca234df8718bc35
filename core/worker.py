"""The task worker that rides out a database restart (`manage.py run_worker`).

django-tasks-db's `db_worker` stops at the first `OperationalError` it cannot
ignore: a PostgreSQL restart ends the worker, and the mail queued meanwhile
waits until someone starts it again. `ResilientWorker` runs the same loop,
and when the database goes away (`core.database.DATABASE_UNAVAILABLE`):

1. closes its connections and waits, with exponential backoff up to
   `backoff_max` seconds, until a new connection succeeds;
2. puts the task it was running back in the queue: its outcome could not be
   recorded, and every task of this project is safe to run again (each locks
   its row and does what is still to do); a task whose run failed on the
   database's side is re-queued the same way, at most `MAX_CLAIMS` claims;
3. sends the mail that came due meanwhile (`outbox_send_due`: mail whose
   send task could not be queued at its commit has none), then goes on with
   the queue, backlog first in the backend's order.

A worker that dies anyway (killed, out of memory) is restarted by its
supervisor: `scripts/run` and `deploy/systemd/trustcenter-worker.service`.
"""

import logging
import time
from typing import Any

from django.db import connections
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from .database import DATABASE_UNAVAILABLE, close_all_connections
from .outbox import outbox_send_due

logger = logging.getLogger(__name__)

# A task claimed this many times is not re-queued again after a database error.
MAX_CLAIMS = 10
_UNAVAILABLE_PATHS = {f"{cls.__module__}.{cls.__qualname__}" for cls in DATABASE_UNAVAILABLE}


class ResilientWorker(Worker):
    """django-tasks-db's worker loop, continued across database outages."""

    def __init__(self, *, backoff_max: float = 30.0, sleep: Any = time.sleep, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.backoff_max = backoff_max
        self.sleep = sleep
        self.outages = 0

    def run(self) -> None:
        recovering = False
        while self.running:
            try:
                if recovering:
                    self._recover()
                    recovering = False
                super().run()
                return  # --batch found nothing more, or --max-tasks was reached
            except DATABASE_UNAVAILABLE as exc:
                self.outages += 1
                logger.warning("Database unavailable (%s); the worker waits and reconnects", type(exc).__name__)
                self.startup_delay = False
                self.running_task = False
                self._reconnect()
                recovering = True

    def run_task(self, db_task_result: DBTaskResult) -> None:
        super().run_task(db_task_result)
        # The task failed on the database's side, but its failure could be
        # recorded (the database came back at once): run it again.
        if (
            db_task_result.status == TaskResultStatus.FAILED
            and db_task_result.exception_class_path in _UNAVAILABLE_PATHS
            and len(db_task_result.worker_ids) < MAX_CLAIMS
        ):
            self._requeue([db_task_result.pk])

    def _reconnect(self) -> None:
        delay = 0.5
        while self.running:
            close_all_connections()
            self.sleep(delay)
            try:
                for alias in connections:
                    connections[alias].ensure_connection()
            except DATABASE_UNAVAILABLE:
                delay = min(delay * 2, self.backoff_max)
                logger.info("Database still unavailable; next try in %.1f s", delay)
                continue
            logger.warning("Database reachable again; the worker goes on")
            return

    def _recover(self) -> None:
        # Tasks this worker claimed and is not running any more: the one it was
        # running when the database went away (its outcome was not recorded).
        running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, backend_name=self.backend_name)
        orphans = [t for t in running.only("id", "worker_ids") if t.worker_ids and t.worker_ids[-1] == self.worker_id]
        retry = [t.pk for t in orphans if len(t.worker_ids) < MAX_CLAIMS]
        self._requeue(retry)
        for task in orphans:
            if task.pk not in retry:
                DBTaskResult.objects.filter(pk=task.pk, status=TaskResultStatus.RUNNING).update(
                    status=TaskResultStatus.FAILED, finished_at=timezone.now()
                )
                logger.error("Task id=%s interrupted %s times by the database; marked failed", task.pk, MAX_CLAIMS)
        counts = outbox_send_due()
        logger.info("After the outage: mail %s", ", ".join(f"{n} {outcome}" for outcome, n in counts.items()))

    def _requeue(self, task_ids: list[Any]) -> None:
        if not task_ids:
            return
        requeued = DBTaskResult.objects.filter(
            pk__in=task_ids, status__in=[TaskResultStatus.RUNNING, TaskResultStatus.FAILED]
        ).update(status=TaskResultStatus.READY, finished_at=None, exception_class_path="", traceback="")
        logger.warning("Re-queued %s task(s) interrupted by the database: %s", requeued, task_ids)
