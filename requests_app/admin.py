"""The ticket queue and its workflow buttons.

Ticket fields are never edited directly: each button opens a small form whose
view calls a service, and a refusal shows the service's message. Tickets are
never deleted here.
"""

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from core.admin_readonly import ReadOnlyInline
from core.http import mark_no_store

from . import services
from .admin_forms import (
    ExtendForm,
    FulfilForm,
    InternalReasonForm,
    MessageForm,
    OptionalReasonForm,
    ReasonForm,
    RecordedReasonForm,
    WorkflowForm,
)
from .enums import ACTIVE_STATUSES, DATA_SUBJECT_KINDS, TicketStatus
from .models import ExtraHoliday, Ticket, TicketAttachment, TicketEvent, TicketNote


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


@dataclass(frozen=True)
class WorkflowAction:
    label: str
    form_class: type[WorkflowForm]
    from_statuses: frozenset[str]
    permission: str = "requests_app.change_ticket"
    help: str = ""


ACTIONS: dict[str, WorkflowAction] = {
    "assign_me": WorkflowAction("Assign to me", WorkflowForm, frozenset(TicketStatus.values) - {TicketStatus.CLOSED}),
    "resend_verification": WorkflowAction(
        "Resend verification link",
        WorkflowForm,
        frozenset({TicketStatus.AWAITING_VERIFICATION}),
        help="Sends a new single-use link to the account's address; earlier links stop working.",
    ),
    "open": WorkflowAction(
        "Open without link verification",
        RecordedReasonForm,
        frozenset({TicketStatus.AWAITING_VERIFICATION}),
        help="Only when the requester's identity was established another way; say how. "
        "Erasure, access and portability still cannot be fulfilled until the link is used.",
    ),
    "acknowledge": WorkflowAction(
        "Acknowledge (start work)",
        OptionalReasonForm,
        frozenset({TicketStatus.OPEN}),
        help="Moves the ticket to “In progress” and tells the requester work has started.",
    ),
    "resume": WorkflowAction("Resume work", InternalReasonForm, frozenset({TicketStatus.AWAITING_REQUESTER})),
    "request_info": WorkflowAction(
        "Request information",
        MessageForm,
        frozenset({TicketStatus.IN_PROGRESS}),
        help="Moves the ticket to “Awaiting requester” and mails them your message.",
    ),
    "message": WorkflowAction("Message requester", MessageForm, ACTIVE_STATUSES),
    "fulfil": WorkflowAction(
        "Fulfil",
        FulfilForm,
        frozenset({TicketStatus.IN_PROGRESS}),
        permission="requests_app.add_ticketattachment",
        help="The requester is mailed a link to their status page, where they can download the PDF.",
    ),
    "reject": WorkflowAction(
        "Reject",
        ReasonForm,
        frozenset({TicketStatus.OPEN, TicketStatus.IN_PROGRESS}),
        help="The reason is mailed to the requester; for data-subject requests the mail also names "
        "their right to complain to a supervisory authority.",
    ),
    "withdraw": WorkflowAction(
        "Record withdrawal",
        OptionalReasonForm,
        frozenset({TicketStatus.AWAITING_REQUESTER}),
    ),
    "extend": WorkflowAction(
        "Extend deadline",
        ExtendForm,
        ACTIVE_STATUSES,
        help="Once, before the original deadline, with a reason; the requester is mailed a notice.",
    ),
    "close": WorkflowAction(
        "Close",
        WorkflowForm,
        frozenset({TicketStatus.FULFILLED, TicketStatus.REJECTED, TicketStatus.WITHDRAWN, TicketStatus.EXPIRED}),
    ),
    "hold": WorkflowAction(
        "Place legal hold",
        RecordedReasonForm,
        frozenset(TicketStatus.values),
        help="Keeps the requester's data past the retention period, e.g. for a legal claim.",
    ),
    "release_hold": WorkflowAction("Release legal hold", RecordedReasonForm, frozenset(TicketStatus.values)),
}

TRANSITION_OF_ACTION = {
    "open": TicketStatus.OPEN,
    "acknowledge": TicketStatus.IN_PROGRESS,
    "resume": TicketStatus.IN_PROGRESS,
    "fulfil": TicketStatus.FULFILLED,
    "reject": TicketStatus.REJECTED,
    "withdraw": TicketStatus.WITHDRAWN,
    "close": TicketStatus.CLOSED,
}


def run_action(name: str, ticket: Ticket, data: dict[str, Any], actor: Any) -> None:
    """Call the service behind a workflow button with the form's cleaned data."""
    expected = data["expected_status"]
    if name not in TRANSITION_OF_ACTION and name != "request_info" and ticket.status != expected:
        # The transition services check this under the row lock; for the
        # other actions the page must at least not be stale.
        raise services.TicketConflict("Someone else changed this ticket. Reload the page.", code="ticket_changed")
    if name == "assign_me":
        services.ticket_assign(ticket_id=ticket.pk, assignee=actor, actor=actor)
    elif name == "resend_verification":
        services.ticket_resend_verification(ticket_id=ticket.pk, actor=actor)
    elif name == "request_info":
        services.ticket_request_info(
            ticket_id=ticket.pk, message=data["message"], actor=actor, expected_status=expected
        )
    elif name == "message":
        services.ticket_add_message(ticket_id=ticket.pk, message=data["message"], actor=actor)
    elif name in {"hold", "release_hold"}:
        services.ticket_set_legal_hold(
            ticket_id=ticket.pk, legal_hold=name == "hold", reason=data["reason"], actor=actor
        )
    elif name == "extend":
        services.ticket_extend(
            ticket_id=ticket.pk, reason=data["reason"], actor=actor, new_due_date=data.get("new_due_date")
        )
    else:
        services.ticket_transition(
            ticket_id=ticket.pk,
            to_status=TRANSITION_OF_ACTION[name],
            actor=actor,
            reason=data.get("reason", ""),
            attachment=data.get("attachment"),
            expected_status=expected,
        )


@admin.register(Ticket)
class TicketAdmin(SimpleHistoryAdmin):
    list_display = ("reference", "kind", "status", "verification", "assignee", "due_at", "due_indicator")
    list_filter = ("kind", "status", VerificationFilter, ("assignee", admin.RelatedOnlyFieldListFilter), DueFilter)
    list_select_related = ("assignee",)
    search_fields = ("reference", "requester_email", "account_email")
    search_help_text = "Reference or email address."
    date_hierarchy = None
    ordering = ("due_at", "id")
    list_per_page = 50
    inlines = (TicketNoteInline, TicketAttachmentInline, TicketEventInline)
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
        ("Verification", {"fields": ("verification_requested_at", "verified_at")}),
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
                        actor=request.user,
                    )
                )

    @admin.display(description="verification")
    def verification(self, obj: Ticket) -> str:
        if obj.kind not in DATA_SUBJECT_KINDS:
            return "–"
        return "verified" if obj.verified_at else "pending"

    @admin.display(description="")
    def due_indicator(self, obj: Ticket) -> str:
        state = due_state(obj, timezone.now())
        if state == "overdue":
            return format_html('<strong class="due-overdue" style="color:#ba2121">{}</strong>', "Overdue")
        if state == "soon":
            return format_html('<span class="due-soon" style="color:#a05a00">{}</span>', "Due soon")
        return ""

    @admin.display(description="form answers")
    def form_data_pretty(self, obj: Ticket) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.form_data, indent=2, ensure_ascii=False))

    # ------------------------------------------------------------ workflow

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:object_id>/workflow/<str:action>/",
                self.admin_site.admin_view(self.workflow_view),
                name="requests_app_ticket_workflow",
            ),
            path(
                "<int:object_id>/attachment/<int:attachment_id>/",
                self.admin_site.admin_view(self.attachment_view),
                name="requests_app_ticket_attachment",
            ),
            *super().get_urls(),
        ]

    def available_actions(self, request: HttpRequest, ticket: Ticket) -> list[tuple[str, WorkflowAction]]:
        return [
            (name, action)
            for name, action in ACTIONS.items()
            if ticket.status in action.from_statuses
            and request.user.has_perm("requests_app.change_ticket")
            and request.user.has_perm(action.permission)
            and not (name == "extend" and ticket.extended_at is not None)
            and not (name == "hold" and (ticket.legal_hold or ticket.personal_data_purged_at))
            and not (name == "release_hold" and not ticket.legal_hold)
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        ticket = Ticket.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        extra = dict(extra_context or {})
        if ticket is not None:
            extra["workflow_actions"] = [
                (reverse("admin:requests_app_ticket_workflow", args=[ticket.pk, name]), action.label)
                for name, action in self.available_actions(request, ticket)
            ]
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def workflow_view(self, request: HttpRequest, object_id: int, action: str) -> HttpResponse:
        ticket = get_object_or_404(Ticket, pk=object_id)
        spec = ACTIONS.get(action)
        if spec is None:
            raise Http404("No such action.")
        if not (request.user.has_perm("requests_app.change_ticket") and request.user.has_perm(spec.permission)):
            raise PermissionDenied
        change_url = reverse("admin:requests_app_ticket_change", args=[ticket.pk])
        if request.method == "POST":
            form = spec.form_class(request.POST, request.FILES)
            if form.is_valid():
                try:
                    run_action(action, ticket, form.cleaned_data, request.user)
                except ValidationError as exc:
                    for message in exc.messages:
                        form.add_error(None, message)
                else:
                    messages.success(request, f"{ticket.reference}: {spec.label} done.")
                    return HttpResponseRedirect(change_url)
        else:
            form = spec.form_class(initial={"expected_status": ticket.status})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": ticket,
            "ticket": ticket,
            "form": form,
            "action": spec,
            "change_url": change_url,
            "title": f"{spec.label}: {ticket.reference}",
            "has_file_field": any(isinstance(f, forms.FileField) for f in form.fields.values()),
        }
        return TemplateResponse(
            request, "admin/requests_app/ticket/workflow.html", context, status=400 if request.method == "POST" else 200
        )

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


@admin.register(ExtraHoliday)
class ExtraHolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "description")
    search_fields = ("description",)
    date_hierarchy = "date"
