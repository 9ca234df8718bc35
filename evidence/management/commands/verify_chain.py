import base64
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence import tlog
from evidence.verify import parse_head, verify_chain

PROGRESS_EVERY = 100_000


class Command(BaseCommand):
    help = "Verify the evidence hash chain; exit non-zero naming the first broken link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--expect-head",
            metavar="SEQ:HASH",
            help="A chain head seen earlier that must still be in the chain: as the page footer shows it "
            "('#SEQ HASH', quoted) or as the export manifest holds it (SEQ:HASH).",
        )
        parser.add_argument(
            "--checkpoint",
            action="append",
            default=[],
            metavar="FILE",
            help="A file of signed checkpoints kept elsewhere (e.g. by an outsider) to check as well; repeatable.",
        )
        parser.add_argument(
            "--key",
            action="append",
            metavar="VKEY",
            help="Trust only this verifier key (name+keyid+key) instead of the configured keys "
            "(EVIDENCE_SIGNING_KEY and EVIDENCE_TRUSTED_KEYS); repeatable.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        expect = None
        if options["expect_head"]:
            try:
                expect = parse_head(options["expect_head"])
            except ValueError as exc:
                raise CommandError(f"--expect-head: {exc}") from exc
        reported = [0]

        def progress(seq: int) -> None:
            if options["verbosity"] >= 1 and seq - reported[0] >= PROGRESS_EVERY:
                reported[0] = seq
                self.stderr.write(f"checked {seq} links …")

        for name in options["checkpoint"]:
            if not Path(name).is_file():
                raise CommandError(f"--checkpoint: no such file: {name}")
        try:
            result = verify_chain(
                expect_head=expect,
                progress=progress,
                checkpoint_files=[Path(name) for name in options["checkpoint"]],
                trusted_keys=options["key"],
            )
        except tlog.NoteError as exc:
            raise CommandError(f"--key: {exc}") from exc
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        for notice in result.notices:
            self.stderr.write(notice)
        if result.broken is not None:
            separator = " " if result.broken.seq is not None else ": "
            raise CommandError(f"Chain BROKEN{separator}{result.broken}")
        self.stdout.write(f"Chain OK: {result.links} links, head {result.head_seq}:{result.head_hash}")
        self.stdout.write(
            f"Log OK: tree root {base64.b64encode(result.tree_root).decode()}, "
            f"{result.checkpoints} signed checkpoints verified"
        )
        if result.unsigned:
            self.stderr.write(
                f"Links {result.links - result.unsigned + 1}..{result.links} are not in a signed checkpoint yet: "
                "only the next checkpoint will witness them (`manage.py evidence_checkpoint` signs one now)."
            )
        if result.tree_size < result.links:
            self.stderr.write(
                f"The stored tree lacks links {result.tree_size + 1}..{result.links}: inclusion proofs for them "
                "wait for `manage.py evidence_tree_sync` (or the next change)."
            )
