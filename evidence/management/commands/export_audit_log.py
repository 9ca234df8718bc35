from datetime import date
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.export import FORMATS, export_filename, write_export
from evidence.selectors import validate_audit_date


def audit_date(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"Not a date (YYYY-MM-DD): {text!r}") from exc
    try:
        validate_audit_date(day)
    except ValidationError as exc:
        raise CommandError(f"{text}: {' '.join(exc.messages)}") from exc
    return day


class Command(BaseCommand):
    help = "Export the audit log for a date range (UTC, inclusive) with a manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--format", dest="fmt", choices=FORMATS, default="csv")
        parser.add_argument("--out", required=True, metavar="DIR", help="Directory to write into (created if missing).")

    def handle(self, *args: Any, **options: Any) -> None:
        date_from, date_to = audit_date(options["date_from"]), audit_date(options["date_to"])
        if date_from > date_to:
            raise CommandError("--from is after --to.")
        out_dir = Path(options["out"])
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / export_filename(date_from, date_to, options["fmt"])
        with path.open("wb") as out:
            manifest = write_export(
                out,
                date_from=date_from,
                date_to=date_to,
                fmt=options["fmt"],
                progress=lambda n: self.stderr.write(f"{n} entries …") if options["verbosity"] >= 1 else None,
            )
        manifest_path = path.with_name(path.name + ".manifest.json")
        manifest_path.write_text(manifest.to_json(), encoding="utf-8")
        span = f"seq {manifest.first_seq}..{manifest.last_seq}" if manifest.row_count else "no entries"
        self.stdout.write(f"Exported {manifest.row_count} entries ({span}) to {path}, sha256 {manifest.sha256}")
