"""Staff screens of customers, contacts and the incident register.

Every save goes through `customers.services` with the acting user and the
reason typed in the form; nothing is deleted here. History pages are
read-only (as page content's: `compliance.admin.ContentAdmin`). The incident
register shows the clocks that apply, sends notices (a form asking for the
text and a reason) and exports as CSV.
"""

import csv
import io
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.auth import acting_user
from compliance.admin import REASON_FIELD, ContentAdmin
from compliance.services import REASON_MAX_LENGTH
from core.admin_readonly import ReadOnlyAdmin, ReadOnlyInline
from core.http import mark_no_store
from evidence.export import neutralise_cell

from . import services
from .models import Contact, Customer, CustomerAgreement, Incident, IncidentCustomer, IncidentMessage, IncidentNotice
from .selectors import REGISTER_COLUMNS, clocks_for, register_rows


def _refuse(exc: ValidationError, form: forms.BaseForm) -> None:
    """Turn a service's refusal into a form error (the admin shows the form again)."""
    form.add_error(None, exc)


class ServiceAdmin(ContentAdmin):
    """Content-style admin (reason field, read-only history) whose saves
    call this app's services; never deletes."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # The inlines show what was written about a saved row; a new row has none.
        return super().get_inline_instances(request, obj) if obj is not None else []

    def _changeform_view(self, request: HttpRequest, object_id: Any, form_url: str, extra_context: Any) -> Any:
        # A refusal of the service (raised in save_model) is shown on the form, nothing saved.
        try:
            return super()._changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


# ---------------------------------------------------------------- customers


class ContactInline(ReadOnlyInline):
    model = Contact
    fields = ("contact_link", "roles_display", "state", "confirmed_at", "removed_at")
    readonly_fields = fields

    @admin.display(description="contact")
    def contact_link(self, obj: Contact) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:customers_contact_change", args=[obj.pk]), obj.name)

    @admin.display(description="roles")
    def roles_display(self, obj: Contact) -> str:
        return ", ".join(obj.roles)

    @admin.display(description="state")
    def state(self, obj: Contact) -> str:
        return contact_state(obj)


class AgreementInline(ReadOnlyInline):
    model = CustomerAgreement
    fields = ("ticket_reference", "kind", "signed_at", "linked_by")
    readonly_fields = fields


@admin.register(Customer)
class CustomerAdmin(ServiceAdmin):
    list_display = ("name", "dpa_signed_at", "baa_signed_at", "created_at", "ended_at")
    list_filter = (("baa_signed_at", admin.EmptyFieldListFilter), ("ended_at", admin.EmptyFieldListFilter))
    search_fields = ("name",)
    fields = ("name", "notes", "ended_at", REASON_FIELD)
    readonly_fields = ("dpa_signed_at", "baa_signed_at", "created_at")
    inlines = (ContactInline, AgreementInline)

    def get_fields(self, request: HttpRequest, obj: Customer | None = None) -> list[str]:
        return ["name", "notes", "ended_at", *self.readonly_fields, REASON_FIELD]

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        reason = form.cleaned_data[REASON_FIELD]
        if not change:
            saved = services.customer_create(name=obj.name, notes=obj.notes, actor=acting_user(request), reason=reason)
            obj.pk, obj.created_at, obj.name_key = saved.pk, saved.created_at, saved.name_key
            return
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field in services.CUSTOMER_FIELDS}
        services.customer_update(customer_id=obj.pk, actor=acting_user(request), reason=reason, **changes)


def contact_state(contact: Contact) -> str:
    if contact.personal_data_purged_at:
        return "erased"
    if contact.removed_at:
        return "removed"
    return "confirmed" if contact.confirmed_at else "awaiting confirmation"


class ContactForm(forms.ModelForm):
    remove = forms.BooleanField(
        required=False, label="Remove this contact", help_text="They receive nothing more; kept for the record."
    )


@admin.register(Contact)
class ContactAdmin(ServiceAdmin):
    list_display = ("name", "customer", "email", "legal", "security", "privacy", "state", "confirmed_at")
    list_filter = ("legal", "security", "privacy", ("confirmed_at", admin.EmptyFieldListFilter), "customer")
    list_select_related = ("customer",)
    search_fields = ("name", "email", "customer__name")
    readonly_fields = ("state", "created_at", "confirmed_at", "confirm_sent_at", "removed_at")
    actions = ("resend_confirmation",)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        base = type("ContactReasonForm", (ContactForm, self.form), {})
        return super().get_form(request, obj, change=change, form=base, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Contact | None = None) -> list[str]:
        editable = ["customer", "name", "email", "legal", "security", "privacy"]
        if obj is None:
            return [*editable, REASON_FIELD]
        return [*editable[1:], "remove", "customer", *self.readonly_fields, REASON_FIELD]

    def get_readonly_fields(self, request: HttpRequest, obj: Contact | None = None) -> tuple[str, ...]:
        return (*self.readonly_fields, "customer") if obj is not None else self.readonly_fields

    @admin.display(description="state")
    def state(self, obj: Contact) -> str:
        return contact_state(obj)

    def save_model(self, request: HttpRequest, obj: Contact, form: Any, change: bool) -> None:
        actor, reason = acting_user(request), form.cleaned_data[REASON_FIELD]
        roles = {role: bool(form.cleaned_data.get(role)) for role in services.ROLES}
        if not change:
            saved = services.contact_add(
                customer_id=obj.customer_id, name=obj.name, email=obj.email, roles=roles, actor=actor, reason=reason
            )
            obj.pk = saved.pk
            return
        if form.cleaned_data.get("remove"):
            services.contact_remove(contact_id=obj.pk, actor=actor, reason=reason)
            return
        services.contact_update(
            contact_id=obj.pk, name=obj.name, email=obj.email, roles=roles, actor=actor, reason=reason
        )

    @admin.action(description="Send the confirmation link again", permissions=["change"])
    def resend_confirmation(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        sent = 0
        for contact in queryset:
            try:
                services.contact_resend_confirmation(contact_id=contact.pk, actor=acting_user(request))
            except ValidationError as exc:
                self.message_user(request, f"Contact {contact.pk}: {' '.join(exc.messages)}", messages.WARNING)
                continue
            sent += 1
        self.message_user(request, f"Sent {sent} confirmation link(s).", messages.SUCCESS)


@admin.register(CustomerAgreement)
class CustomerAgreementAdmin(ReadOnlyAdmin):
    list_display = ("ticket_reference", "customer", "kind", "signed_at", "linked_by")
    list_filter = ("kind",)
    list_select_related = ("customer", "linked_by")
    search_fields = ("ticket_reference", "customer__name")
    fields = ("ticket_reference", "customer", "kind", "signed_at", "linked_by")
    readonly_fields = fields


# ---------------------------------------------------------------- incidents


class AffectedInline(ReadOnlyInline):
    model = IncidentCustomer
    fields = ("customer", "added_at", "added_by")
    readonly_fields = fields
    verbose_name_plural = "affected customers"


class MessageInline(ReadOnlyInline):
    model = IncidentMessage
    fields = ("round", "kind", "body", "created_at", "created_by")
    readonly_fields = fields
    verbose_name_plural = "notices written"


class NoticeInline(ReadOnlyInline):
    model = IncidentNotice
    fk_name = "incident"
    fields = ("round", "customer", "contact", "queued_at", "sent_at", "follow_up_of")
    readonly_fields = fields
    verbose_name_plural = "notices to contacts"

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentNotice]:
        return super().get_queryset(request).select_related("message", "customer", "contact", "mail")

    @admin.display(description="round")
    def round(self, obj: IncidentNotice) -> int:
        return obj.message.round

    @admin.display(description="queued at")
    def queued_at(self, obj: IncidentNotice) -> Any:
        return obj.created_at

    @admin.display(description="sent at")
    def sent_at(self, obj: IncidentNotice) -> Any:
        return obj.mail.sent_at or f"not yet ({obj.mail.get_status_display()})"


class IncidentForm(forms.ModelForm):
    add_customers = forms.ModelMultipleChoiceField(
        queryset=Customer.objects.order_by("name"),
        required=False,
        label="Affected customers",
        help_text="Customers whose data the incident concerns. Once marked, a customer stays on the record.",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "add_customers" in self.fields:
            already = self.instance.affected.values_list("customer_id", flat=True)
            self.fields["add_customers"].queryset = Customer.objects.exclude(pk__in=already).order_by("name")
            self.fields["add_customers"].label = "Mark more customers affected"


class NotifyForm(forms.Form):
    message = forms.CharField(
        label="Notice",
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
        help_text="What the contacts read before the incident's facts (which the mail adds).",
    )
    change_reason = forms.CharField(
        label="Reason", max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2, "cols": 60})
    )


INCIDENT_FIELDS = (
    "title",
    "aware_at",
    "company_is_controller",
    "description",
    "subject_categories",
    "subjects_approx",
    "record_categories",
    "records_approx",
    "consequences",
    "measures",
    "public_update",
)


@admin.register(Incident)
class IncidentAdmin(ServiceAdmin):
    """The breach register: one incident per row, its clocks and its notices."""

    list_display = ("reference", "title", "aware_at", "company_is_controller", "clock_summary", "first_notified_at")
    list_filter = ("company_is_controller", ("first_notified_at", admin.EmptyFieldListFilter))
    search_fields = ("reference", "title")
    ordering = ("-aware_at", "-id")
    readonly_fields = (
        "reference",
        "clocks",
        "processor_notice_hours",
        "processor_notice_source",
        "recorded_at",
        "recorded_by",
        "first_notified_at",
        "public_update_status",
    )
    inlines = (AffectedInline, MessageInline, NoticeInline)
    change_list_template = "admin/customers/incident/change_list.html"
    change_form_template = "admin/customers/incident/change_form.html"

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        base = type("IncidentReasonForm", (IncidentForm, self.form), {})
        return super().get_form(request, obj, change=change, form=base, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Incident | None = None) -> list[str]:
        if obj is None:
            return [*INCIDENT_FIELDS, "add_customers", REASON_FIELD]
        return [*self.readonly_fields, *INCIDENT_FIELDS, "add_customers", REASON_FIELD]

    def get_readonly_fields(self, request: HttpRequest, obj: Incident | None = None) -> tuple[str, ...]:
        return self.readonly_fields if obj is not None else ()

    @admin.display(description="clocks")
    def clock_summary(self, obj: Incident) -> str:
        now = timezone.now()
        return "; ".join(f"{c.label}: {c.state(now)}" for c in clocks_for(obj)) or "none"

    @admin.display(description="told the public")
    def public_update_status(self, obj: Incident) -> str:
        if obj.public_update is None:
            return "No update linked."
        published = obj.public_update.publications.order_by("revision").first()
        if published is None:
            return f"Update “{obj.public_update.title}”: not published yet (waiting for its four-eyes approval)."
        when = timezone.localtime(published.first_published_at)
        return f"Update “{obj.public_update.title}”: published {when:%Y-%m-%d %H:%M %Z}."

    @admin.display(description="clocks that apply")
    def clocks(self, obj: Incident) -> str:
        now = timezone.now()
        rows = [(c.describe(now), c.basis) for c in clocks_for(obj)]
        if not rows:
            return "None: no customer is marked affected and the company is not controller."
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} ({})</li>", rows))

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        actor, reason = acting_user(request), form.cleaned_data[REASON_FIELD]
        customer_ids = [c.pk for c in form.cleaned_data.get("add_customers") or []]
        if not change:
            values = {field: form.cleaned_data.get(field) for field in INCIDENT_FIELDS}
            saved = services.incident_record(actor=actor, reason=reason, customer_ids=customer_ids, **values)
            obj.pk, obj.reference = saved.pk, saved.reference
            return
        values = {field: form.cleaned_data.get(field) for field in form.changed_data if field in INCIDENT_FIELDS}
        services.incident_update(
            incident_id=obj.pk, actor=actor, reason=reason, add_customer_ids=customer_ids, **values
        )

    def has_notify_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("customers.notify_incident")

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("customers.export_incident")

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name=f"{opts.app_label}_{opts.model_name}_export",
            ),
            path(
                "<int:pk>/notify/",
                self.admin_site.admin_view(self.notify_view),
                name=f"{opts.app_label}_{opts.model_name}_notify",
            ),
            *super().get_urls(),
        ]

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> Any:
        extra = {**(extra_context or {}), "can_notify": self.has_notify_permission(request)}
        return super().changeform_view(request, object_id, form_url, extra)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        extra = {**(extra_context or {}), "can_export": self.has_export_permission(request)}
        return super().changelist_view(request, extra)

    def notify_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Write a round of notices (the first, or a follow-up) to the affected customers' contacts."""
        if not self.has_notify_permission(request):
            raise PermissionDenied
        incident = get_object_or_404(Incident, pk=pk)
        form = NotifyForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                written = services.incident_notify(
                    incident_id=incident.pk,
                    message=form.cleaned_data["message"],
                    actor=acting_user(request),
                    reason=form.cleaned_data["change_reason"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                count = written.notices.count()
                self.message_user(request, f"{count} notice(s) queued for {incident.reference}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:customers_incident_change", args=[incident.pk]))
        return TemplateResponse(
            request,
            "admin/customers/incident/notify.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "incident": incident,
                "form": form,
                "follow_up": incident.messages.exists(),
                "title": f"Notify affected customers of {incident.reference}",
                "errors": helpers.AdminErrorList(form, []),
            },
        )

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The register as CSV, with the list's filters; times in UTC."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        if not self.has_export_permission(request):
            raise PermissionDenied
        incidents = self.get_changelist_instance(request).get_queryset(request)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(REGISTER_COLUMNS)
        for row in register_rows(incidents, now=timezone.now()):
            writer.writerow([neutralise_cell(row[column]) for column in REGISTER_COLUMNS])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="incident-register.csv"'
        return mark_no_store(response)


@admin.register(IncidentNotice)
class IncidentNoticeAdmin(ReadOnlyAdmin):
    list_display = ("incident", "round", "customer", "contact", "created_at", "sent_at", "follow_up_of")
    list_filter = ("incident",)
    list_select_related = ("incident", "message", "customer", "contact", "mail")
    fields = ("incident", "round", "customer", "contact", "created_at", "sent_at", "mail_status", "follow_up_of")
    readonly_fields = fields

    @admin.display(description="round")
    def round(self, obj: IncidentNotice) -> int:
        return obj.message.round

    @admin.display(description="sent at")
    def sent_at(self, obj: IncidentNotice) -> Any:
        return obj.mail.sent_at

    @admin.display(description="mail")
    def mail_status(self, obj: IncidentNotice) -> str:
        return obj.mail.get_status_display()
