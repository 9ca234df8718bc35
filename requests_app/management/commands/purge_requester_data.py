from typing import Any

from django.core.management.base import BaseCommand

from requests_app.retention import tickets_purge_personal_data


class Command(BaseCommand):
    help = "Purge requester personal data from tickets closed longer than RETENTION_DAYS_AFTER_CLOSE."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = tickets_purge_personal_data()
        self.stdout.write(
            f"Purged {counts['tickets']} tickets ({counts['history_rows']} history rows, "
            f"{counts['mails']} mails, {counts['attachments']} attachments, {counts['replies']} replies)."
        )
