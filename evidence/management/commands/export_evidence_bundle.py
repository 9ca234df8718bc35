from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.bundle import BundleError, bundle_name, bundle_tar, bundle_write

from .export_audit_log import audit_date


class Command(BaseCommand):
    help = (
        "Write an evidence bundle (links, rows as hashed, signed checkpoints, keys, manifest) for a "
        "date range (UTC, inclusive) or --all, for scripts/verify_evidence.py to check offline."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD")
        parser.add_argument("--all", action="store_true", help="Every link a signed checkpoint covers.")
        parser.add_argument(
            "--out", required=True, metavar="DIR", help="Directory to write the bundle into (created if missing)."
        )
        parser.add_argument("--tar", action="store_true", help="Also write DIR.tar (deterministic bytes).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"] == bool(options["date_from"] or options["date_to"]):
            raise CommandError("Give either --from and --to, or --all.")
        date_from = date_to = None
        if not options["all"]:
            if not (options["date_from"] and options["date_to"]):
                raise CommandError("Give both --from and --to.")
            date_from, date_to = audit_date(options["date_from"]), audit_date(options["date_to"])
            if date_from > date_to:
                raise CommandError("--from is after --to.")
        out_dir = Path(options["out"])
        try:
            manifest = bundle_write(
                out_dir,
                date_from=date_from,
                date_to=date_to,
                progress=lambda seq: self.stderr.write(f"link {seq} …") if options["verbosity"] >= 2 else None,
            )
        except BundleError as exc:
            raise CommandError(str(exc)) from exc
        if options["tar"]:
            tar_path = out_dir.with_name(out_dir.name + ".tar")
            with tar_path.open("wb") as out:
                bundle_tar(out_dir, out, prefix=bundle_name(date_from, date_to))
        if manifest["left_out"]:
            self.stderr.write(
                f"{manifest['left_out']} later links of the range are in no signed checkpoint yet and were left "
                "out; sign one (manage.py evidence_checkpoint) or wait for the hourly one."
            )
        span = f"links {manifest['first_seq']}..{manifest['last_seq']}" if manifest["links"] else "no links"
        self.stdout.write(
            f"Bundle of {manifest['links']} links ({span}), {manifest['checkpoints']} checkpoints written to {out_dir}"
        )
