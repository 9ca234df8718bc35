import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from compliance.services import publication_publish_initial, seed_load
from core.history import system_actor

DEFAULT_SEED = Path(__file__).resolve().parents[2] / "seed" / "coaxiom.json"


class Command(BaseCommand):
    help = (
        "Load the reference page content and, when nothing was ever published, publish it "
        "as version 1. Existing rows are left as they are."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file",
            type=Path,
            default=DEFAULT_SEED,
            help="Seed document (JSON). Defaults to the bundled reference content.",
        )

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read seed file {file}: {exc}") from exc
        actor = system_actor()
        created = seed_load(data=data, actor=actor)
        publication = publication_publish_initial(actor=actor)
        total = sum(created.values())
        detail = ", ".join(f"{k} {v}" for k, v in created.items() if v)
        published = f"; published version {publication.version}" if publication else ""
        self.stdout.write(
            f"Seed content: {total} rows created"
            + (f" ({detail})" if detail else "" if published else ", nothing to do")
            + published
        )
