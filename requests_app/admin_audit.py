"""The auditor's view of tickets: read only, without the requester's data.

One list (filter by kind, status and answer against the due date; search by
reference only) and one page per ticket answer "was this DPA countersigned
within its deadline, and by whom?" and "was this erasure requester verified
before fulfilment, and when was their data purged?". The same columns export
as CSV. Shown are reference, kind, status, the times against the due date,
the usernames of who acknowledged, answered and closed, how identity was
verified and, for a request filed for another person, how the agent's
authority was checked (staff text with the ticket's personal values taken
out, see `redaction`), and the purge; never the requester's name, addresses, legal
entity, details, answers, IP address, messages, notes or files.
"""

import csv
import datetime as dt
import io
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, path
from django.utils import timezone

from core.admin_readonly import ReadOnlyAdmin
from core.http import mark_no_store
from evidence.export import neutralise_cell

from .enums import DATA_SUBJECT_KINDS
from .models import TicketAudit
from .redaction import redact, ticket_personal_values
from .selectors import answer_on_time, tickets_answered_on_time, tickets_for_audit

ON_TIME_LABELS = {
    "yes": "yes",
    "no": "no",
    "open": "not yet due",
    "none": "no answer due (withdrawn or expired)",
}


def verification(ticket: TicketAudit) -> str:
    """How the requester's identity was confirmed, by whom; staff text without personal values."""
    if ticket.kind not in DATA_SUBJECT_KINDS:
        return "not required"
    if ticket.verified_at is None:
        return "not verified"
    if getattr(ticket, "verified_by_staff", False):
        method = redact(getattr(ticket, "verification_method", "") or "", ticket_personal_values(ticket))
        return f"by {getattr(ticket, 'verified_by', '')}: {method}"
    return "by the requester, through the link mailed to the account's address"


def agent_check(ticket: TicketAudit) -> str:
    """For a request filed by someone acting for another person: who checked
    their authority and how; staff text without personal values."""
    if not ticket.acting_for_another:
        return "not filed for another person"
    if ticket.agent_checked_at is None:
        return "not checked"
    method = redact(getattr(ticket, "agent_check_method", "") or "", ticket_personal_values(ticket))
    return f"by {getattr(ticket, 'agent_checked_by', '')}: {method}"


def verified_before_fulfilment(ticket: TicketAudit) -> str:
    if ticket.kind not in DATA_SUBJECT_KINDS:
        return "not required"
    if ticket.fulfilled_at is None:
        return "not fulfilled"
    return "yes" if ticket.verified_at is not None and ticket.verified_at <= ticket.fulfilled_at else "no"


def _utc(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).isoformat() if moment is not None else ""


# The export's columns, in order: (header, value of one annotated ticket).
EXPORT_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("reference", lambda t, now: t.reference),
    ("kind", lambda t, now: t.kind),
    ("status", lambda t, now: t.status),
    ("received_at", lambda t, now: _utc(t.received_at)),
    ("acknowledged_at", lambda t, now: _utc(t.acknowledged_at)),
    ("acknowledged_by", lambda t, now: t.acknowledged_by or ""),
    ("original_due_at", lambda t, now: _utc(t.original_due_at)),
    ("due_at", lambda t, now: _utc(t.due_at)),
    ("extended_at", lambda t, now: _utc(t.extended_at)),
    ("answered_at", lambda t, now: _utc(t.answered_at)),
    ("answered_by", lambda t, now: t.answered_by or ""),
    ("on_time", lambda t, now: answer_on_time(t, now=now)),
    ("fulfilled_at", lambda t, now: _utc(t.fulfilled_at)),
    ("rejected_at", lambda t, now: _utc(t.rejected_at)),
    ("closed_at", lambda t, now: _utc(t.closed_at)),
    ("closed_by", lambda t, now: t.closed_by or ""),
    ("verified_at", lambda t, now: _utc(t.verified_at)),
    ("verification", lambda t, now: verification(t)),
    ("verified_before_fulfilment", lambda t, now: verified_before_fulfilment(t)),
    ("agent_checked_at", lambda t, now: _utc(t.agent_checked_at)),
    ("agent_check", lambda t, now: agent_check(t)),
    ("personal_data_purged_at", lambda t, now: _utc(t.personal_data_purged_at)),
    ("purge_record", lambda t, now: str(t.purge_record_id or "")),
)


# The page of one ticket: (section, fields).
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Request", ("reference", "kind", "status")),
    ("Deadline", ("received_at", "original_due_at", "due_at", "extended_at", "answered_at", "on_time")),
    (
        "Who and when",
        (
            "acknowledged_at",
            "acknowledged_by",
            "answered_by",
            "fulfilled_at",
            "rejected_at",
            "withdrawn_at",
            "expired_at",
            "closed_at",
            "closed_by",
        ),
    ),
    (
        "Verification",
        ("verified_at", "verification", "verified_before_fulfilment", "agent_checked_at", "agent_check"),
    ),
    ("Retention", ("personal_data_purged_at", "purge_record")),
)


class OnTimeFilter(admin.SimpleListFilter):
    title = "answered by the due date"
    parameter_name = "on_time"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(ON_TIME_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[TicketAudit]) -> QuerySet[TicketAudit]:
        return tickets_answered_on_time(queryset, self.value() or "", now=timezone.now())


class TicketAuditAdmin(ReadOnlyAdmin):
    list_display = (
        "reference",
        "kind",
        "status",
        "received_at",
        "acknowledged_at",
        "due_at",
        "answered_at",
        "answered_by",
        "on_time",
        "verification",
        "verified_before_fulfilment",
        "personal_data_purged_at",
    )
    list_filter = ("kind", "status", OnTimeFilter)
    search_fields = ("reference",)
    search_help_text = "Reference, e.g. DSR-2026-000123."
    ordering = ("-received_at", "-id")
    list_per_page = 50
    change_list_template = "admin/requests_app/ticketaudit/change_list.html"
    fieldsets = [(title, {"fields": fields}) for title, fields in SECTIONS]

    def get_readonly_fields(self, request: HttpRequest, obj: TicketAudit | None = None) -> list[str]:
        return [field for _, fields in SECTIONS for field in fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketAudit]:
        return tickets_for_audit()

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_export"
        return [path("export/", self.admin_site.admin_view(self.export_view), name=name), *super().get_urls()]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The list as CSV, with the list's filters; times in UTC."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        tickets = self.get_changelist_instance(request).get_queryset(request)
        now = timezone.now()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([header for header, _ in EXPORT_COLUMNS])
        for ticket in tickets.order_by("received_at", "id"):
            writer.writerow([neutralise_cell(value(ticket, now)) for _, value in EXPORT_COLUMNS])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="tickets-audit.csv"'
        return mark_no_store(response)

    @admin.display(description="answered by")
    def answered_by(self, obj: TicketAudit) -> str:
        return getattr(obj, "answered_by", None) or "—"

    @admin.display(description="acknowledged by")
    def acknowledged_by(self, obj: TicketAudit) -> str:
        return getattr(obj, "acknowledged_by", None) or "—"

    @admin.display(description="closed by")
    def closed_by(self, obj: TicketAudit) -> str:
        return getattr(obj, "closed_by", None) or "—"

    @admin.display(description="answered (fulfilled or rejected)")
    def answered_at(self, obj: TicketAudit) -> dt.datetime | None:
        return getattr(obj, "answered_at", None)

    @admin.display(description="on time")
    def on_time(self, obj: TicketAudit) -> str:
        return ON_TIME_LABELS[answer_on_time(obj, now=timezone.now())]

    @admin.display(description="verification")
    def verification(self, obj: TicketAudit) -> str:
        return verification(obj)

    @admin.display(description="verified before fulfilment")
    def verified_before_fulfilment(self, obj: TicketAudit) -> str:
        return verified_before_fulfilment(obj)

    @admin.display(description="authority of someone acting for another")
    def agent_check(self, obj: TicketAudit) -> str:
        return agent_check(obj)

    @admin.display(description="purge record")
    def purge_record(self, obj: TicketAudit) -> str:
        record_id = getattr(obj, "purge_record_id", None)
        return f"#{record_id}" if record_id else "—"
