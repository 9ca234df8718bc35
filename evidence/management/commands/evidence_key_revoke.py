from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.signing import revocation_line, signing_key_revoke


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--from: not an ISO 8601 time: {text!r}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Distrust a compromised checkpoint signing key from a time on: checkpoints it signed from then on "
        "are reported by verify_chain, earlier ones still count."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key_hash", metavar="KEYHASH", help="The key's 8-digit hex key hash (see the key list).")
        parser.add_argument(
            "--from", dest="revoked_from", required=True, metavar="ISO", help="From when (UTC unless it says)."
        )
        parser.add_argument("--reason", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = signing_key_revoke(
                key_hash=options["key_hash"], revoked_from=_moment(options["revoked_from"]), reason=options["reason"]
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        assert key.revoked_from is not None
        self.stdout.write(f"Key {key} revoked from {key.revoked_from.isoformat()}: {key.revoked_reason}")
        self.stdout.write(
            "Keep the revocation outside the database too (a database administrator could lift it there): "
            f"add {revocation_line(key)} to EVIDENCE_REVOKED_KEYS."
        )
