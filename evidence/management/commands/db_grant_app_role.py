from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from evidence.db import app_role_grant, app_role_problems


class Command(BaseCommand):
    help = (
        "Grant the application's run-time role (PostgreSQL) what it needs and nothing more; run by the schema "
        "owner after migrate. Prints the SQL it ran, and fails if the role could still lift the guards."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="The role the web and worker processes log in as (it must exist).")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            raise CommandError("Roles and grants apply to PostgreSQL only.")
        role = options["role"]
        missing = [problem for problem in app_role_problems(connection, role) if problem.endswith("does not exist")]
        if missing:
            raise CommandError(f"{missing[0]}: CREATE ROLE {role} LOGIN PASSWORD '…' first.")
        for statement in app_role_grant(connection, role):
            self.stdout.write(f"{statement};")
        problems = app_role_problems(connection, role)
        if problems:
            raise CommandError("The role can still lift the guards: " + "; ".join(problems))
        self.stdout.write(f"Granted {role} the application's run-time rights.")
