from typing import Any

from django.core.management.base import BaseCommand

from core.outbox import outbox_send_due


class Command(BaseCommand):
    help = "Send the outbox mail that is due now (once), with retries per backoff. Safe to run in parallel."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=500, help="Most mails to try in this run.")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = outbox_send_due(limit=options["limit"])
        self.stdout.write(
            f"Outbox: {counts['sent']} sent, {counts['retry']} to retry, {counts['failed']} failed, "
            f"{counts['skipped']} skipped."
        )
