from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate

GUARDS_MIGRATION = ("evidence", "0003_append_only_guards")


def refresh_guards(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """Guard history tables that later migrations add, once the guards are in
    place; then give the application's role (`DATABASE_APP_ROLE`, when set)
    its rights on tables that later migrations add."""
    from django.conf import settings
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from .db import app_role_grant, install_guards

    connection = connections[using]
    if connection.vendor == "postgresql" and GUARDS_MIGRATION in MigrationRecorder(connection).applied_migrations():
        install_guards(connection)
        if settings.DATABASE_APP_ROLE:
            app_role_grant(connection, settings.DATABASE_APP_ROLE)


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = "Evidence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401  (checks registers the system checks)

        receivers.connect()
        post_migrate.connect(refresh_guards, sender=self, dispatch_uid="evidence.refresh_guards")
