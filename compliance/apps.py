from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Trust page content"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
