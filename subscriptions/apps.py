from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subscriptions"
    verbose_name = "Subscriptions and notices"

    def ready(self) -> None:
        from requests_app.retention import PURGE_HOOKS

        from . import receivers
        from .retention import subscribers_purge

        receivers.connect()
        # Housekeeping and `purge_requester_data` remove old subscriber addresses too.
        PURGE_HOOKS["subscribers"] = subscribers_purge
