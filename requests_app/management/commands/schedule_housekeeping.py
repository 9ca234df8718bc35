from typing import Any

from django.core.management.base import BaseCommand

from requests_app.tasks import housekeeping_schedule


class Command(BaseCommand):
    help = "Queue the periodic requests housekeeping task for `db_worker`, unless one is already queued."

    def handle(self, *args: Any, **options: Any) -> None:
        queued = housekeeping_schedule()
        self.stdout.write("Housekeeping queued." if queued else "Housekeeping already queued.")
