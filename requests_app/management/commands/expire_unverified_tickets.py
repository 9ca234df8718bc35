from typing import Any

from django.core.management.base import BaseCommand

from core.history import system_actor
from requests_app.services import tickets_expire_unverified


class Command(BaseCommand):
    help = "Expire data-subject requests whose confirmation links all lapsed unused."

    def handle(self, *args: Any, **options: Any) -> None:
        count = tickets_expire_unverified(actor=system_actor())
        self.stdout.write(f"Expired {count} unverified tickets.")
