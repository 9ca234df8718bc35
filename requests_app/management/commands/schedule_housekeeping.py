from typing import Any

from django.core.management.base import BaseCommand

from core.schedule import declared_jobs, schedule_ensure


class Command(BaseCommand):
    help = (
        "Queue the next run of every periodic job (housekeeping and the others apps declare in periodic.py) "
        "for `run_worker`, unless one is already queued. Safe to run on every deploy and by several hosts."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        queued = schedule_ensure()
        waiting = [name for name in declared_jobs() if name not in queued]
        self.stdout.write(
            f"Periodic jobs queued: {', '.join(queued) or 'none'}; already queued: {', '.join(waiting) or 'none'}."
        )
