from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subscriptions"
    verbose_name = "Subscriptions and notices"

    def ready(self) -> None:
        from . import receivers

        # Publications are announced to subscribers; retention runs remove old addresses.
        receivers.connect()
