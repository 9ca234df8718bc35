from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.contrib.contenttypes.forms import BaseGenericInlineFormSet

from .admin_readonly import ReadOnlyAdmin, ReadOnlyMixin
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


class MailsFormSet(BaseGenericInlineFormSet):
    @classmethod
    def get_default_prefix(cls) -> str:
        return "mails"  # instead of "core-outboxmail-about_type-about_id"


class OutboxMailInline(ReadOnlyMixin, GenericTabularInline):
    """The mails about one record (a ticket), on its admin page: what went out,
    what waits, and what was withheld by the daily cap of public-form mail."""

    model = OutboxMail
    ct_field, ct_fk_field = "about_type", "about_id"
    formset = MailsFormSet  # type: ignore[assignment]  # django-stubs types it for ForeignKey inlines only
    fields = ("created_at", "template", "to", "subject", "status", "sent_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "mails"
