from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every other app builds on; imports none of them."""

    name = "core"
    verbose_name = "Core"
    default_auto_field = "django.db.models.BigAutoField"
