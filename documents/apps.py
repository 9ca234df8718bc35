from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "documents"
    verbose_name = "Document access"

    def ready(self) -> None:
        from . import receivers

        # Fulfilling an access request grants access; retention runs blank old client addresses.
        receivers.connect()
