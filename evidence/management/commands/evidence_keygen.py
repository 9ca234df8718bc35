from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence import tlog


class Command(BaseCommand):
    help = (
        "Print a new Ed25519 key for signing evidence checkpoints: the private key (for EVIDENCE_SIGNING_KEY) "
        "and its public verifier key. Nothing is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--name", help="Key name (no spaces or '+'); by default the log's origin, EVIDENCE_LOG_ORIGIN."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            signer = tlog.signer_generate(options["name"] or settings.EVIDENCE_LOG_ORIGIN)
        except tlog.NoteError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"EVIDENCE_SIGNING_KEY={signer.skey}")
        self.stdout.write(f"verifier key: {signer.verifier.vkey}")
