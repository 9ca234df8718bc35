from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _after_last_app_migrated(sender: AppConfig, **kwargs: Any) -> None:
    # post_migrate is sent once per app with models (accounts has none); act
    # once, after the last, when every app's permissions exist.
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if with_models and sender is with_models[-1]:
        from .roles import roles_sync_after_migrate

        roles_sync_after_migrate(sender, **kwargs)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Staff roles"

    def ready(self) -> None:
        from django.core.checks import Tags, register

        from . import (
            auth,  # noqa: F401  (connects the sign-in event log)
            receivers,
        )
        from .checks import sessions_in_database

        receivers.connect()

        register(sessions_in_database, Tags.security)

        # Every migrate makes each role exactly what accounts.roles.ROLES says.
        post_migrate.connect(_after_last_app_migrated, dispatch_uid="accounts.roles_sync")
