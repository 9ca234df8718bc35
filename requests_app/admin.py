"""The ticket queue, the ticket page, the outbox and extra holidays.

Ticket fields are never edited directly: the workflow buttons
(`admin_workflow`) each open a small form whose view calls a service, and a
refusal shows the service's message. Tickets are never deleted here.
"""

import datetime as dt
import json
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from accounts.auth import acting_user
from core.admin import OutboxMailInline
from core.admin_paging import CappedCountPaginator
from core.admin_readonly import ReadOnlyAdmin, ReadOnlyInline
from core.http import mark_no_store

from . import services
from .admin_audit import TicketAuditAdmin
from .admin_workflow import WorkflowAdminMixin
from .enums import ACTIVE_STATUSES, DATA_SUBJECT_KINDS, TicketEventKind
from .models import ExtraHoliday, Ticket, TicketAttachment, TicketAudit, TicketEvent, TicketNote
from .redaction import redact, ticket_personal_values
from .selectors import ticket_mail_withheld


def due_state(ticket: Ticket, now: dt.datetime) -> str:
    """ "overdue", "soon" or "" for the queue's indicator (no query)."""
    if ticket.status not in ACTIVE_STATUSES:
        return ""
    if ticket.due_at < now:
        return "overdue"
    if ticket.due_at <= now + dt.timedelta(days=settings.DUE_SOON_DAYS):
        return "soon"
    return ""


class DueFilter(admin.SimpleListFilter):
    title = "due"
    parameter_name = "due"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("overdue", "Overdue"),
            ("soon", f"Due within {settings.DUE_SOON_DAYS} days"),
            ("later", "Due later"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        now = timezone.now()
        soon = now + dt.timedelta(days=settings.DUE_SOON_DAYS)
        active = queryset.filter(status__in=ACTIVE_STATUSES)
        if self.value() == "overdue":
            return active.filter(due_at__lt=now)
        if self.value() == "soon":
            return active.filter(due_at__gte=now, due_at__lte=soon)
        if self.value() == "later":
            return active.filter(due_at__gt=soon)
        return queryset


class VerificationFilter(admin.SimpleListFilter):
    title = "verification"
    parameter_name = "verification"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("verified", "Verified"), ("unverified", "Not verified"), ("not_required", "Not required")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        if self.value() == "verified":
            return queryset.filter(verified_at__isnull=False)
        if self.value() == "unverified":
            return queryset.filter(kind__in=DATA_SUBJECT_KINDS, verified_at__isnull=True)
        if self.value() == "not_required":
            return queryset.exclude(kind__in=DATA_SUBJECT_KINDS)
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    """Tickets assigned to one staff member. The choices are the active staff
    (a small table), not the assignees found by reading every ticket."""

    title = "assignee"
    # The parameter Django's own related-field filter used, so old links still work.
    parameter_name = "assignee__id__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        staff = get_user_model()._default_manager.filter(is_staff=True, is_active=True).order_by("username")
        return [(str(pk), username) for pk, username in staff.values_list("pk", "username")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(assignee_id=int(value))


class TicketEventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ("created_at", "kind", "actor", "from_status", "to_status", "message", "visible_to_requester")
    readonly_fields = fields
    verbose_name_plural = "history of events"

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketEvent]:
        return super().get_queryset(request).select_related("actor")


class TicketAttachmentInline(ReadOnlyInline):
    model = TicketAttachment
    fields = ("download", "size", "sha256", "uploaded_by", "created_at", "visible_to_requester")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketAttachment]:
        return super().get_queryset(request).select_related("uploaded_by")

    @admin.display(description="file")
    def download(self, obj: TicketAttachment) -> str:
        if obj.purged_at:
            return "(purged)"
        url = reverse("admin:requests_app_ticket_attachment", args=[obj.ticket_id, obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.original_name)


class TicketNoteForm(forms.ModelForm):
    class Meta:
        model = TicketNote
        fields = ("body",)
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}


class TicketNoteInline(admin.StackedInline):
    """Internal notes: added here, never edited or deleted, never shown to the requester."""

    model = TicketNote
    form = TicketNoteForm
    extra = 1
    can_delete = False
    fields = ("body", "author", "created_at")
    readonly_fields = ("author", "created_at")
    verbose_name_plural = "internal notes (never shown to the requester)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketNote]:
        return super().get_queryset(request).select_related("author")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(WorkflowAdminMixin, SimpleHistoryAdmin):
    list_display = ("reference", "kind", "status", "verification", "assignee", "due_at", "due_indicator")

    class Media:
        # The queue's due markers and the workflow buttons: styles from a file, as the CSP allows no inline ones.
        css = {"all": ("css/admin-extra.css",)}

    list_filter = ("kind", "status", VerificationFilter, AssigneeFilter, DueFilter)
    list_select_related = ("assignee",)
    # Whole values, matched without regard to case, each on its own index
    # (Ticket.Meta.indexes): a substring search would read every ticket.
    search_fields = ("=reference", "=requester_email", "=account_email")
    search_help_text = "A whole reference or email address."
    date_hierarchy = None
    ordering = ("due_at", "id")
    list_per_page = 50
    # Counting stops at COUNT_CAP tickets; no second count of the whole queue under a filter.
    paginator = CappedCountPaginator
    show_full_result_count = False
    inlines = (TicketNoteInline, TicketAttachmentInline, TicketEventInline, OutboxMailInline)
    change_form_template = "admin/requests_app/ticket/change_form.html"
    fieldsets = (
        ("Request", {"fields": ("reference", "kind", "status", "assignee", "legal_hold")}),
        ("Deadline", {"fields": ("received_at", "original_due_at", "due_at", "extended_at", "extension_reason")}),
        (
            "Requester",
            {
                "fields": (
                    "requester_name",
                    "requester_email",
                    "account_email",
                    "legal_entity",
                    "details",
                    "form_data_pretty",
                    "submitted_ip",
                )
            },
        ),
        (
            "Verification",
            {"fields": ("verification_requested_at", "verified_at", "acting_for_another", "agent_checked_at")},
        ),
        (
            "Timeline",
            {
                "fields": (
                    "opened_at",
                    "acknowledged_at",
                    "info_requested_at",
                    "fulfilled_at",
                    "rejected_at",
                    "withdrawn_at",
                    "expired_at",
                    "closed_at",
                    "personal_data_purged_at",
                )
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Ticket | None = None) -> list[str]:
        return [f for _, opts in self.fieldsets for f in opts["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tickets come from the public forms

    def has_delete_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False  # evidence; personal data leaves through the retention purge

    def save_model(self, request: HttpRequest, obj: Ticket, form: Any, change: bool) -> None:
        pass  # every ticket field is read-only; changes go through the workflow services

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # Only new notes are saved, through the service; other inlines are read-only.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if formset.model is not TicketNote:
            return
        for note_form in formset.forms:
            if note_form.has_changed() and note_form.cleaned_data.get("body") and note_form.instance.pk is None:
                formset.new_objects.append(
                    services.ticket_add_note(
                        ticket_id=form.instance.pk,
                        body=note_form.cleaned_data["body"],
                        actor=acting_user(request),
                    )
                )

    @admin.display(description="verification")
    def verification(self, obj: Ticket) -> str:
        if obj.kind not in DATA_SUBJECT_KINDS:
            return "—"
        return "verified" if obj.verified_at else "pending"

    @admin.display(description="")
    def due_indicator(self, obj: Ticket) -> str:
        state = due_state(obj, timezone.now())
        if state == "overdue":
            return format_html('<strong class="due-overdue">{}</strong>', "Overdue")
        if state == "soon":
            return format_html('<span class="due-soon">{}</span>', "Due soon")
        return ""

    @admin.display(description="form answers")
    def form_data_pretty(self, obj: Ticket) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.form_data, indent=2, ensure_ascii=False))

    # ------------------------------------------------------------ workflow

    def get_urls(self) -> list[Any]:
        return [
            *self.workflow_urls(),
            path(
                "<int:object_id>/attachment/<int:attachment_id>/",
                self.admin_site.admin_view(self.attachment_view),
                name="requests_app_ticket_attachment",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        ticket = Ticket.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        extra = dict(extra_context or {})
        if ticket is not None:
            extra["workflow_actions"] = self.workflow_buttons(request, ticket)
            if ticket_mail_withheld(ticket):
                extra["mail_withheld_cap"] = settings.PUBLIC_MAIL_PER_ADDRESS_PER_DAY
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def attachment_view(self, request: HttpRequest, object_id: int, attachment_id: int) -> FileResponse:
        if not request.user.has_perm("requests_app.view_ticketattachment"):
            raise PermissionDenied
        attachment = get_object_or_404(TicketAttachment, pk=attachment_id, ticket_id=object_id, purged_at__isnull=True)
        return mark_no_store(
            FileResponse(
                attachment.file.open("rb"),
                as_attachment=True,
                filename=attachment.original_name,
                content_type="application/pdf",
            )
        )


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    """Every ticket's events in one list, for auditors who may not open tickets:
    who moved, verified, assigned or extended what, when and why."""

    list_display = ("created_at", "ticket", "kind", "actor", "from_status", "to_status", "text")
    list_filter = ("kind",)
    list_select_related = ("ticket", "actor")
    search_fields = ("ticket__reference",)
    ordering = ("-created_at", "-id")
    fields = ("ticket", "created_at", "kind", "actor", "from_status", "to_status", "text", "visible_to_requester")
    readonly_fields = fields

    @admin.display(description="text")
    def text(self, obj: TicketEvent) -> str:
        # The correspondence stays on the ticket, for those who work it; other
        # text (reasons, how identity was verified) shows without the
        # requester's personal values, as on the auditor's ticket view.
        if obj.kind == TicketEventKind.REQUESTER_REPLY:
            return "(the requester's reply)"
        if obj.kind == TicketEventKind.MESSAGE:
            return "(a message to the requester)"
        return redact(obj.message, ticket_personal_values(obj.ticket))


# The auditor's view of tickets, without the requester's data (see admin_audit).
admin.site.register(TicketAudit, TicketAuditAdmin)


@admin.register(ExtraHoliday)
class ExtraHolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "description")
    search_fields = ("description",)
    date_hierarchy = "date"
