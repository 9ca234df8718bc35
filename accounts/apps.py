from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Staff roles"

    def ready(self) -> None:
        from django.core.checks import Tags, register

        from . import auth  # noqa: F401  (connects the sign-in event log)
        from .checks import sessions_in_database

        register(sessions_in_database, Tags.security)
