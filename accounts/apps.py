from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Staff roles"

    def ready(self) -> None:
        from . import auth  # noqa: F401  (connects the sign-in event log)
