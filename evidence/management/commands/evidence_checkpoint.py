from typing import Any

from django.core.management.base import BaseCommand, CommandError

from evidence.checkpoints import checkpoint_sign
from evidence.enums import CheckpointReason
from evidence.signing import SigningKeyRefused


class Command(BaseCommand):
    help = "Sign a checkpoint of the evidence log now and print its note."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            checkpoint = checkpoint_sign(reason=CheckpointReason.MANUAL)
        except SigningKeyRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(checkpoint.note, ending="")
