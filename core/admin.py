from django.contrib import admin

from .admin_readonly import ReadOnlyAdmin
from .models import OutboxMail


@admin.register(OutboxMail)
class OutboxMailAdmin(ReadOnlyAdmin):
    """The outbox, for looking only: the worker writes it."""

    list_display = ("id", "template", "about", "status", "attempts", "next_attempt_at", "sent_at", "last_error")
    list_filter = ("status", "template")
    # Ticket mails carry the ticket's reference in the subject.
    search_fields = ("subject",)
    ordering = ("-created_at", "-id")
    fields = (
        "about",
        "template",
        "to",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
        "purged_at",
        "body_text",
    )
    readonly_fields = fields
