from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from compliance.static_export import DEFAULT_KEEP, StaticExportError, export_static_site


class Command(BaseCommand):
    help = (
        "Write the public site (the live page and its assets, trust.json, security.txt, the feed, the changelog "
        "and each past version's page) as static files, and point DIR (a symbolic link) at them atomically."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dir", type=Path, help="The link a static server serves; versions go to DIR.versions/.")
        parser.add_argument(
            "--keep", type=int, default=DEFAULT_KEEP, help=f"Versions to keep (default {DEFAULT_KEEP})."
        )

    def handle(self, *args: Any, dir: Path, keep: int, **options: Any) -> None:
        try:
            written = export_static_site(dir, keep=keep)
        except StaticExportError as exc:
            raise CommandError(str(exc)) from exc
        count = sum(1 for path in written.rglob("*") if path.is_file())
        self.stdout.write(f"Exported {count} files to {written}; {dir} now points there.")
