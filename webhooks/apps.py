from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from . import receivers

        # Every event an endpoint may ask for becomes a delivery (receivers.ROUTES).
        receivers.connect()
