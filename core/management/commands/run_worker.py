from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import valid_interval

from core.worker import ResilientWorker


class Command(DbWorkerCommand):
    help = (
        "Run the task worker (mail, scheduled publications, periodic jobs): django-tasks-db's db_worker "
        "that rides out a database restart, reconnecting with backoff (core/worker.py)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--backoff-max",
            default=30.0,
            type=valid_interval,
            help="Longest wait (seconds) between reconnection attempts while the database is unavailable.",
        )
        parser.set_defaults(reload=False)

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        if options["reload"]:
            raise CommandError("run_worker does not reload on code changes; use db_worker --reload for that.")
        worker = ResilientWorker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
            backoff_max=options["backoff_max"],
        )
        worker.configure_signals()
        worker.run()
