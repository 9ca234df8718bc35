"""Staff views of subscribers, notices and objections; all read-only here.

Subscribers change only through their own links (confirm, unsubscribe);
notices are written by the notice service; objections are answered on their
ticket in the request queue.
"""

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.admin_readonly import ReadOnlyAdmin, ReadOnlyInline

from .models import (
    ContactNotice,
    PublicationNotices,
    SubprocessorNotice,
    SubprocessorObjection,
    Subscriber,
    UpdateNotice,
)


@admin.register(Subscriber)
class SubscriberAdmin(ReadOnlyAdmin):
    list_display = ("email", "scope", "state", "confirmed_at", "unsubscribed_at", "created_at")
    list_filter = (
        "scope",
        ("confirmed_at", admin.EmptyFieldListFilter),
        ("unsubscribed_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("email",)
    fields = (
        "email",
        "scope",
        "requested_scope",
        "update_categories",
        "requested_update_categories",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "confirm_sent_at",
    )
    readonly_fields = fields

    @admin.display(description="state")
    def state(self, obj: Subscriber) -> str:
        if obj.unsubscribed_at:
            return "unsubscribed"
        return "subscribed" if obj.confirmed_at else "awaiting confirmation"


@admin.register(SubprocessorNotice)
class SubprocessorNoticeAdmin(ReadOnlyAdmin):
    list_display = ("publication", "subscriber", "subprocessor_change", "mail_status", "created_at")
    list_filter = ("publication", "subprocessor_change")
    list_select_related = ("publication", "subscriber", "mail")
    fields = ("publication", "subscriber", "subprocessor_change", "mail", "created_at")
    readonly_fields = fields

    @admin.display(description="mail")
    def mail_status(self, obj: SubprocessorNotice) -> str:
        return obj.mail.get_status_display()


@admin.register(ContactNotice)
class ContactNoticeAdmin(ReadOnlyAdmin):
    """Subprocessor changes told to customers' legal and privacy contacts."""

    list_display = ("publication", "customer", "contact", "mail_status", "created_at", "sent_at")
    list_filter = ("publication",)
    list_select_related = ("publication", "contact__customer", "mail")
    fields = ("publication", "customer", "contact", "mail_status", "created_at", "sent_at")
    readonly_fields = fields

    @admin.display(description="customer")
    def customer(self, obj: ContactNotice) -> str:
        return obj.contact.customer.name

    @admin.display(description="mail")
    def mail_status(self, obj: ContactNotice) -> str:
        return obj.mail.get_status_display()

    @admin.display(description="sent at")
    def sent_at(self, obj: ContactNotice) -> object:
        return obj.mail.sent_at


@admin.register(UpdateNotice)
class UpdateNoticeAdmin(ReadOnlyAdmin):
    list_display = ("update", "subscriber", "category", "mail_status", "created_at")
    list_filter = ("category",)
    list_select_related = ("update", "subscriber", "mail")
    fields = ("update", "subscriber", "category", "mail", "created_at")
    readonly_fields = fields

    @admin.display(description="mail")
    def mail_status(self, obj: UpdateNotice) -> str:
        return obj.mail.get_status_display()


def _ticket_link(ticket_id: int, reference: str) -> str:
    return format_html('<a href="{}">{}</a>', reverse("admin:requests_app_ticket_change", args=[ticket_id]), reference)


@admin.register(SubprocessorObjection)
class SubprocessorObjectionAdmin(ReadOnlyAdmin):
    list_display = ("ticket_link", "publication", "subprocessor_name", "customer", "ticket_status", "created_at")
    list_filter = ("publication",)
    list_select_related = ("publication", "ticket", "customer")
    fields = ("ticket_link", "publication", "subprocessor_name", "subprocessor_slug", "customer", "created_at")
    readonly_fields = fields

    @admin.display(description="ticket")
    def ticket_link(self, obj: SubprocessorObjection) -> str:
        return _ticket_link(obj.ticket_id, obj.ticket.reference)

    @admin.display(description="status")
    def ticket_status(self, obj: SubprocessorObjection) -> str:
        return obj.ticket.get_status_display()


class ObjectionInline(ReadOnlyInline):
    model = SubprocessorObjection
    fields = ("ticket_link", "subprocessor_name", "ticket_status", "created_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[SubprocessorObjection]:
        return super().get_queryset(request).select_related("ticket")

    @admin.display(description="ticket")
    def ticket_link(self, obj: SubprocessorObjection) -> str:
        return _ticket_link(obj.ticket_id, obj.ticket.reference)

    @admin.display(description="status")
    def ticket_status(self, obj: SubprocessorObjection) -> str:
        return obj.ticket.get_status_display()


@admin.register(PublicationNotices)
class PublicationNoticesAdmin(ReadOnlyAdmin):
    """Per version: how many notices went out and which objections came in."""

    list_display = ("version", "summary", "effective_at", "notices_sent", "subprocessor_notices", "objection_count")
    fields = ("version", "summary", "effective_at", "notices_sent", "subprocessor_notices", "objection_count")
    readonly_fields = fields
    inlines = (ObjectionInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PublicationNotices]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                notice_total=Count("notices", distinct=True),
                notice_subprocessor=Count("notices", filter=Q(notices__subprocessor_change=True), distinct=True),
                objection_total=Count("objections", distinct=True),
            )
        )

    # The counts below are annotations from get_queryset, which the model does not declare.
    @admin.display(description="notices", ordering="notice_total")
    def notices_sent(self, obj: PublicationNotices) -> str:
        url = reverse("admin:subscriptions_subprocessornotice_changelist") + f"?publication__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.notice_total)  # type: ignore[attr-defined]

    @admin.display(description="of which subprocessor changes")
    def subprocessor_notices(self, obj: PublicationNotices) -> int:
        return obj.notice_subprocessor  # type: ignore[attr-defined]

    @admin.display(description="objections", ordering="objection_total")
    def objection_count(self, obj: PublicationNotices) -> str:
        url = reverse("admin:subscriptions_subprocessorobjection_changelist") + f"?publication__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.objection_total)  # type: ignore[attr-defined]
