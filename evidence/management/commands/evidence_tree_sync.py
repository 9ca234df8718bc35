from typing import Any

from django.core.management.base import BaseCommand

from evidence.tlog_store import tree_size, tree_sync

PROGRESS_EVERY = 100_000


class Command(BaseCommand):
    help = "Add the links the transparency log's tree lacks (chains written before the tree existed)."

    def handle(self, *args: Any, **options: Any) -> None:
        reported = [0]

        def progress(size: int) -> None:
            if options["verbosity"] >= 1 and size - reported[0] >= PROGRESS_EVERY:
                reported[0] = size
                self.stderr.write(f"tree at {size} leaves …")

        added = tree_sync(progress=progress)
        self.stdout.write(f"Tree synced: {added} leaves added, {tree_size()} in all.")
