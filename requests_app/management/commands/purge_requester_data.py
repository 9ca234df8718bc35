from typing import Any

from django.core.management.base import BaseCommand

from requests_app.retention import retention_purge_all

LABELS = {"documents": "Document access log", "subscribers": "Subscribers"}


class Command(BaseCommand):
    help = (
        "Purge personal data past retention: requester data of tickets closed longer than "
        "RETENTION_DAYS_AFTER_CLOSE, and what other apps register (document access log, subscribers)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        results = retention_purge_all()
        counts = results.pop("tickets")
        self.stdout.write(
            f"Purged {counts['tickets']} tickets ({counts['history_rows']} history rows, "
            f"{counts['mails']} mails, {counts['attachments']} attachments, {counts['messages']} messages, "
            f"{counts['notes']} notes)."
        )
        # Counts only, one line per purge: never an address or a name.
        for name, counts in results.items():
            summary = ", ".join(f"{value} {key}" for key, value in counts.items())
            self.stdout.write(f"{LABELS.get(name, name)}: {summary}.")
