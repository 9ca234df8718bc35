from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "documents"
    verbose_name = "Document access"

    def ready(self) -> None:
        from requests_app.enums import TicketKind
        from requests_app.retention import PURGE_HOOKS
        from requests_app.services import FULFIL_HOOKS

        from .retention import document_logs_purge
        from .services import grant_on_fulfil

        # Fulfilling an access request in the ticket workflow is what grants access.
        FULFIL_HOOKS[TicketKind.DOCUMENT_ACCESS] = grant_on_fulfil
        # Housekeeping and `purge_requester_data` blank old client addresses too.
        PURGE_HOOKS["documents"] = document_logs_purge
