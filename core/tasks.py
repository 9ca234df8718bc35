"""Background tasks of core (Django Tasks API; ``manage.py db_worker`` runs them)."""

import datetime as dt
from typing import Any

from django_tasks import task

from . import schedule


@task()
def periodic_job_run(name: str, slot: str) -> dict[str, Any]:
    """Run the periodic job ``name`` for its slot (ISO time), once (see ``core.schedule``)."""
    return schedule.periodic_job_run(name=name, slot=dt.datetime.fromisoformat(slot))
