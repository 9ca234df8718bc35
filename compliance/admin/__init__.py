from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_field, unquote
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import capfirst
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import HistoricalChanges
from simple_history.template_utils import HistoricalRecordContextHelper

from accounts.auth import acting_user

from .. import services
from ..models import (
    Certification,
    ContactRoute,
    Control,
    DataHandlingRow,
    Document,
    GdprFact,
    Organization,
    Section,
    Subprocessor,
)

REASON_FIELD = "change_reason"
REASON_HELP = "Why is this changing? Recorded in the history with your name."
NOTHING_CHANGED = "Nothing has changed, so there is nothing to record."


class ReasonForm(forms.ModelForm):
    """Every content form asks why the change is made."""

    change_reason = forms.CharField(
        label="Reason for change",
        max_length=services.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=REASON_HELP,
        error_messages={"required": "Give a reason for this change; it is recorded in the history."},
    )

    def clean_change_reason(self) -> str:
        return self.cleaned_data["change_reason"].strip()

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        # A save that changes nothing would add a history row that records nothing.
        if self.instance.pk is not None and not [f for f in self.changed_data if f != REASON_FIELD]:
            raise ValidationError(NOTHING_CHANGED, code="nothing_changed")
        return cleaned


# Fields that place an item rather than say something, grouped apart in forms.
PLACEMENT_FIELDS = ("position", "is_active", "slug")
# Long enough that a changed sentence is readable in the history list without
# opening each version.
HISTORY_DIFF_CHARS = 400


class ContentHistoryHelper(HistoricalRecordContextHelper):
    """Shows changed values as an editor sees them in the form: choice
    labels rather than stored codes, yes/no rather than True/False."""

    def prepare_delta_change_value(self, change: Any, value: Any) -> Any:
        field = self.model._meta.get_field(change.field)
        if field.choices and value is not None:
            return dict(field.flatchoices).get(value, value)
        if isinstance(field, models.BooleanField):
            return "yes" if value else "no"
        return super().prepare_delta_change_value(change, value)


class ContentAdmin(SimpleHistoryAdmin):
    """Admin for page content: saves and deletes go through the content
    services with the editor as actor and the reason they typed.

    History is append-only: the history list shows field-level differences,
    a past version can be viewed but never restored (changes go forward, each
    with its own reason).
    """

    form = ReasonForm
    delete_confirmation_template = "admin/compliance/delete_confirmation.html"
    history_version_template = "admin/compliance/history_version.html"
    object_history_list_template = "admin/compliance/object_history_list.html"

    def get_fieldsets(
        self, request: HttpRequest, obj: models.Model | None = None
    ) -> list[tuple[str | None, dict[str, Any]]]:
        # What the page says comes first, where it sits on the page next, and
        # the reason last, once the editor knows what they changed.
        fieldsets = []
        placement: list[str] = []
        for name, options in super().get_fieldsets(request, obj):
            fields = []
            for field in options.get("fields", ()):
                if field in PLACEMENT_FIELDS:
                    placement.append(field)
                elif field != REASON_FIELD:
                    fields.append(field)
            if fields:
                fieldsets.append((name, {**options, "fields": fields}))
        if placement:
            placement.sort(key=PLACEMENT_FIELDS.index)
            fieldsets.append(("Place on the page", {"fields": placement}))
        fieldsets.append(("Reason for change", {"fields": [REASON_FIELD], "classes": ["reason-for-change"]}))
        return fieldsets

    def save_model(self, request: HttpRequest, obj: models.Model, form: forms.Form, change: bool) -> None:
        services.content_save(obj=obj, actor=acting_user(request), reason=form.cleaned_data[REASON_FIELD])

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method == "POST":
            try:
                # The request carries the reason to delete_model, which Django calls without it.
                request._content_change_reason = services.clean_reason(request.POST.get(REASON_FIELD))  # type: ignore[attr-defined]
            except ValidationError as exc:
                self.message_user(request, exc.messages[0], messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        reason = request._content_change_reason  # type: ignore[attr-defined]  # set by delete_view above
        services.content_delete(obj=obj, actor=acting_user(request), reason=reason)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Bulk delete would skip the reason; items are deleted one at a time.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_historical_record_context_helper(
        self, request: HttpRequest, historical_record: HistoricalChanges
    ) -> HistoricalRecordContextHelper:
        return ContentHistoryHelper(self.model, historical_record, max_displayed_delta_change_chars=HISTORY_DIFF_CHARS)

    def revert_disabled(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return True

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Show one past version, read-only.

        simple-history's own view is a form that saves the old version back
        when posted, even with reverting switched off; here nothing is ever
        written, so a POST is refused outright.
        """
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        opts = self.model._meta
        record = get_object_or_404(
            self.model.history.select_related("history_user"),
            **{opts.pk.attname: unquote(object_id), "history_id": unquote(version_id)},
        )
        if not self.has_view_history_or_change_history_permission(request, record.instance):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": f"Version of {record.instance}",
            "opts": opts,
            "app_label": opts.app_label,
            "record": record,
            "object_id": record.instance.pk,
            "fields": self._version_fields(record),
            "object_exists": self.model._default_manager.filter(pk=record.instance.pk).exists(),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.history_version_template, context)

    def _version_fields(self, record: HistoricalChanges) -> list[tuple[str, Any]]:
        rows = []
        for field in self.model._meta.fields:
            if field.primary_key or not field.editable:
                continue
            if field.is_relation:
                try:
                    value: Any = getattr(record, field.name)
                except ObjectDoesNotExist:
                    value = f"#{getattr(record, field.attname)} (deleted)"
                shown = str(value) if value is not None else self.get_empty_value_display()
            elif isinstance(field, models.BooleanField):
                shown = "Yes" if getattr(record, field.attname) else "No"
            else:
                shown = display_for_field(getattr(record, field.attname), field, self.get_empty_value_display())
            rows.append((capfirst(field.verbose_name), shown))
        return rows


@admin.register(Organization)
class OrganizationAdmin(ContentAdmin):
    list_display = ["name", "legal_name", "contact_email"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not Organization.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Organization | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # There is only ever one organization: open it rather than a list of one.
        org = Organization.objects.first()
        if (
            org is not None
            and request.method == "GET"
            and not request.GET
            and self.has_view_or_change_permission(request, org)
        ):
            return HttpResponseRedirect(reverse("admin:compliance_organization_change", args=[org.pk]))
        return super().changelist_view(request, extra_context)


@admin.register(Section)
class SectionAdmin(ContentAdmin):
    list_display = ["title", "key", "position"]
    list_editable: list[str] = []
    ordering = ["position"]

    def has_delete_permission(self, request: HttpRequest, obj: Section | None = None) -> bool:
        return False


class OrderedContentAdmin(ContentAdmin):
    list_filter = ["is_active"]
    prepopulated_fields: dict[str, tuple[str, ...]] = {}


@admin.register(Certification)
class CertificationAdmin(OrderedContentAdmin):
    list_display = ["name", "status", "target", "position", "is_active"]
    list_filter = ["status", "is_active"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Control)
class ControlAdmin(OrderedContentAdmin):
    list_display = ["title", "section", "group", "status", "position", "is_active"]
    list_filter = ["section", "status", "is_active"]
    list_select_related = ["section"]
    ordering = ["section__position", "position", "id"]
    search_fields = ["title", "body", "group"]
    prepopulated_fields = {"slug": ("title",)}


@admin.register(Subprocessor)
class SubprocessorAdmin(OrderedContentAdmin):
    list_display = ["name", "purpose", "certifications", "position", "is_active"]
    search_fields = ["name", "purpose"]
    prepopulated_fields = {"slug": ("name",)}


@admin.register(DataHandlingRow)
class DataHandlingRowAdmin(OrderedContentAdmin):
    list_display = ["category", "description", "position", "is_active"]
    search_fields = ["category", "description"]
    prepopulated_fields = {"slug": ("category",)}


@admin.register(GdprFact)
class GdprFactAdmin(OrderedContentAdmin):
    list_display = ["label", "body", "position", "is_active"]
    search_fields = ["label", "body"]
    prepopulated_fields = {"slug": ("label",)}


@admin.register(ContactRoute)
class ContactRouteAdmin(OrderedContentAdmin):
    list_display = ["label", "email", "topics", "position", "is_active"]
    search_fields = ["label", "email", "topics"]
    prepopulated_fields = {"slug": ("label",)}


class DocumentForm(ReasonForm):
    class Meta:
        model = Document
        fields = ["slug", "position", "is_active", "title", "description", "visibility", "file"]
        # A plain file input: the stored file has no URL to link to (private storage).
        widgets = {"file": forms.FileInput(attrs={"accept": "application/pdf"})}


@admin.register(Document)
class DocumentAdmin(OrderedContentAdmin):
    """Reports and agreements: public or gated. Uploading a new file keeps the
    old one on disk, so a publication still serves the file it listed."""

    form = DocumentForm
    list_display = ["title", "visibility", "size_label", "position", "is_active"]
    list_filter = ["visibility", "is_active"]
    search_fields = ["title", "description"]
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ["sha256", "size_label"]

    @admin.display(description="size")
    def size_label(self, obj: Document) -> str:
        return f"{obj.size / 1024:.0f} KB" if obj.size else "–"


# --- Publishing ----------------------------------------------------------------


from .publishing import PublicationAdmin, PublicationRequestAdmin  # noqa: E402  (registers them)
from .updates import UpdateAdmin, UpdatePublicationAdmin, UpdateRequestAdmin  # noqa: E402  (registers them)

__all__ = [
    "ContentAdmin",
    "PublicationAdmin",
    "PublicationRequestAdmin",
    "UpdateAdmin",
    "UpdatePublicationAdmin",
    "UpdateRequestAdmin",
]
