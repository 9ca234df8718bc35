from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Trust page content"

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401  (checks registers the system checks)

        # A publication going live rewrites the static export, when there is one.
        receivers.connect()
