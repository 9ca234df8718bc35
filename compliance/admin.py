from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from simple_history.admin import SimpleHistoryAdmin

from . import services
from .models import (
    Certification,
    ContactRoute,
    Control,
    DataHandlingRow,
    GdprFact,
    Organization,
    Section,
    Subprocessor,
)

REASON_HELP = "Why is this changing? Recorded in the history with your name."


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


class ContentAdmin(SimpleHistoryAdmin):
    """Admin for page content: saves and deletes go through the content
    services with the editor as actor and the reason they typed."""

    form = ReasonForm
    delete_confirmation_template = "admin/compliance/delete_confirmation.html"
    history_list_display = ["history_change_reason"]

    def save_model(self, request: HttpRequest, obj: models.Model, form: forms.Form, change: bool) -> None:
        services.content_save(obj=obj, actor=request.user, reason=form.cleaned_data["change_reason"])

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "POST":
            try:
                request._content_change_reason = services.clean_reason(request.POST.get("change_reason"))  # type: ignore[attr-defined]
            except ValidationError as exc:
                self.message_user(request, exc.messages[0], messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        services.content_delete(obj=obj, actor=request.user, reason=request._content_change_reason)  # type: ignore[attr-defined]

    def history_form_view(self, request: HttpRequest, object_id: str, version_id: str, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # A past version is for reading. simple-history saves a POST to this
        # view as a revert, even for a user who may only view; changes go
        # forward through the change form with a reason instead.
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Bulk delete would skip the reason; items are deleted one at a time.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(Organization)
class OrganizationAdmin(ContentAdmin):
    list_display = ["name", "legal_name", "contact_email"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not Organization.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Organization | None = None) -> bool:
        return False


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
