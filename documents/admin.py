"""Staff views of NDA versions, acceptances, grants and downloads.

Access is approved or denied on the ticket (fulfil / reject); here staff see
grants and revoke them, with a reason, through the revoke action.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.auth import acting_user
from compliance.services import REASON_MAX_LENGTH
from core.admin_readonly import ReadOnlyAdmin, ReadOnlyInline

from . import services
from .models import DocumentDownload, DocumentGrant, NdaAcceptance, NdaVersion


class NdaVersionForm(forms.ModelForm):
    class Meta:
        model = NdaVersion
        fields = ("label", "text")


@admin.register(NdaVersion)
class NdaVersionAdmin(admin.ModelAdmin):
    """New versions are added (and become active); accepted texts are never edited."""

    form = NdaVersionForm
    list_display = ("label", "active", "created_at", "created_by")
    readonly_fields = ("active", "created_at", "created_by")

    def get_readonly_fields(self, request: HttpRequest, obj: NdaVersion | None = None) -> tuple[str, ...]:
        return ("label", "text", *self.readonly_fields) if obj is not None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: NdaVersion, form: Any, change: bool) -> None:
        if change:
            return  # the text of a version is never changed; add a new version
        saved = services.nda_version_create(label=obj.label, text=obj.text, actor=acting_user(request))
        obj.pk, obj.active, obj.created_at = saved.pk, saved.active, saved.created_at


@admin.register(NdaAcceptance)
class NdaAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "document", "nda_version", "accepted_at")
    list_filter = ("nda_version", "document")
    list_select_related = ("ticket", "document", "nda_version")
    search_fields = ("ticket__reference",)
    fields = ("ticket", "document", "nda_version", "accepted_at", "ip", "user_agent")
    readonly_fields = fields


class DownloadInline(ReadOnlyInline):
    model = DocumentDownload
    extra = 0
    can_delete = False
    fields = ("downloaded_at", "ip", "user_agent", "sha256")
    readonly_fields = fields


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label="Reason for revoking",
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded on each grant with your name.",
    )


class GrantStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("valid", "Valid"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[DocumentGrant]) -> QuerySet[DocumentGrant]:
        now = timezone.now()
        if self.value() == "valid":
            return queryset.filter(revoked_at__isnull=True, expires_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(DocumentGrant)
class DocumentGrantAdmin(ReadOnlyAdmin):
    list_display = ("ticket_link", "document", "state", "granted_at", "expires_at", "auto_approved", "granted_by")
    list_filter = (GrantStateFilter, "document", "auto_approved")
    list_select_related = ("ticket", "document", "granted_by")
    search_fields = ("ticket__reference",)
    fields = (
        "ticket_link",
        "document",
        "state",
        "granted_at",
        "granted_by",
        "auto_approved",
        "expires_at",
        "revoked_at",
        "revoked_by",
        "revoke_reason",
    )
    readonly_fields = fields
    inlines = (DownloadInline,)
    actions = ("revoke",)

    @admin.display(description="ticket")
    def ticket_link(self, obj: DocumentGrant) -> str:
        url = reverse("admin:requests_app_ticket_change", args=[obj.ticket_id])
        return format_html('<a href="{}">{}</a>', url, obj.ticket.reference)

    @admin.display(description="state")
    def state(self, obj: DocumentGrant) -> str:
        if obj.revoked_at:
            return "revoked"
        return "expired" if obj.expires_at <= timezone.now() else "valid"

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("documents.revoke_documentgrant")

    @admin.action(description="Revoke access (asks for a reason)", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[DocumentGrant]) -> HttpResponse | None:
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        form = RevokeForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            count = 0
            for grant in queryset:
                try:
                    services.grant_revoke(
                        grant_id=grant.pk, actor=acting_user(request), reason=form.cleaned_data["reason"]
                    )
                except ValidationError as exc:
                    self.message_user(request, " ".join(exc.messages), messages.ERROR)
                    return None
                count += 1
            self.message_user(request, f"Revoked {count} grant(s).", messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/documents/documentgrant/revoke.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "grants": queryset,
                "form": form,
                "title": "Revoke document access",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(DocumentDownload)
class DocumentDownloadAdmin(ReadOnlyAdmin):
    list_display = ("grant", "downloaded_at", "ip")
    list_filter = ("grant__document",)
    list_select_related = ("grant",)
    date_hierarchy = "downloaded_at"
    fields = ("grant", "downloaded_at", "ip", "user_agent", "sha256")
    readonly_fields = fields
