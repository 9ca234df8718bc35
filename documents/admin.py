"""Staff views of NDA versions and their approvals, acceptances, grants and downloads.

An editor proposes an NDA version; a second person reviews its exact text on
the version's page and approves it there, which offers it to requesters.

Access is approved or denied on the ticket (fulfil / reject); here staff see
grants and revoke them, with a reason, through the revoke action.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.auth import acting_user
from compliance.services import REASON_MAX_LENGTH
from core.admin_readonly import ReadOnlyAdmin, ReadOnlyInline

from . import services
from .models import DocumentDownload, DocumentGrant, NdaAcceptance, NdaApproval, NdaVersion


class NdaVersionForm(forms.ModelForm):
    reason = forms.CharField(
        label="Reason for this version",
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What changed and why. The approver reads it with the text; it is kept in the audit log.",
    )

    class Meta:
        model = NdaVersion
        fields = ("label", "text", "reason")


class NdaApproveForm(forms.Form):
    # The SHA-256 of the text the approver was shown.
    fingerprint = forms.CharField(
        widget=forms.HiddenInput,
        min_length=64,
        max_length=64,
        error_messages={"required": "Open the version again and review its text before approving."},
    )


@admin.register(NdaVersion)
class NdaVersionAdmin(admin.ModelAdmin):
    """Editors propose versions; a second person reviews the exact text and
    approves it, which offers it to requesters. Texts are never edited."""

    form = NdaVersionForm
    list_display = ("label", "state", "created_at", "created_by", "approved_by")
    list_select_related = ("created_by", "approval__approved_by")
    readonly_fields = ("state", "text_sha256", "created_at", "created_by", "approved_by", "approved_at")
    change_form_template = "admin/documents/ndaversion/change_form.html"

    @admin.display(description="state")
    def state(self, obj: NdaVersion) -> str:
        if obj.active:
            return "offered"
        return "retired" if hasattr(obj, "approval") else "awaiting approval"

    @admin.display(description="approved by")
    def approved_by(self, obj: NdaVersion) -> str:
        approval = getattr(obj, "approval", None)
        return approval.approved_by.get_username() if approval else "—"

    @admin.display(description="approved at")
    def approved_at(self, obj: NdaVersion) -> Any:
        approval = getattr(obj, "approval", None)
        return approval.approved_at if approval else "—"

    def get_readonly_fields(self, request: HttpRequest, obj: NdaVersion | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("label", "text", "reason", *self.readonly_fields)

    def get_fields(self, request: HttpRequest, obj: NdaVersion | None = None) -> list[str]:  # type: ignore[override]
        if obj is None:
            return ["label", "text", "reason"]
        return [
            "label",
            "state",
            "text",
            "text_sha256",
            "reason",
            "created_at",
            "created_by",
            "approved_by",
            "approved_at",
        ]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the text of a version is never changed; add a new version

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: NdaVersion, form: Any, change: bool) -> None:
        saved = services.nda_version_create(
            label=obj.label, text=obj.text, reason=form.cleaned_data["reason"], actor=acting_user(request)
        )
        obj.pk, obj.active, obj.created_at, obj.text_sha256 = (
            saved.pk,
            saved.active,
            saved.created_at,
            saved.text_sha256,
        )

    def response_add(self, request: HttpRequest, obj: NdaVersion, post_url_continue: str | None = None) -> HttpResponse:
        self.message_user(
            request,
            f"NDA version {obj.label} is proposed. It is offered once a second person approves its text.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:documents_ndaversion_change", args=[obj.pk]))

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="documents_ndaversion_approve",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = extra_context or {}
        obj = self.get_object(request, object_id)
        if obj is not None and not hasattr(obj, "approval"):
            extra_context.update(self._review_context(request, obj))
        return super().change_view(request, object_id, form_url, extra_context)

    def _review_context(self, request: HttpRequest, obj: NdaVersion) -> dict[str, Any]:
        can_approve = request.user.has_perm("documents.approve_ndaversion")
        refusal = None
        if can_approve and obj.created_by_id == acting_user(request).pk:
            refusal = "You proposed this version; a second person must approve it."
        return {
            "nda_review": obj,
            "can_approve": can_approve,
            "four_eyes_refusal": refusal,
            "approve_form": NdaApproveForm(initial={"fingerprint": obj.text_sha256}),
        }

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        detail = reverse("admin:documents_ndaversion_change", args=[pk])
        if not request.user.has_perm("documents.approve_ndaversion"):
            raise PermissionDenied("You are not allowed to approve NDA versions.")
        if request.method != "POST":
            return HttpResponseRedirect(detail)
        form = NdaApproveForm(request.POST)
        if not form.is_valid():
            self.message_user(request, " ".join(str(e) for errs in form.errors.values() for e in errs), messages.ERROR)
            return HttpResponseRedirect(detail)
        try:
            version = services.nda_version_approve(
                version_id=pk, actor=acting_user(request), fingerprint=form.cleaned_data["fingerprint"]
            )
        except NdaVersion.DoesNotExist:
            raise Http404("No such NDA version.") from None
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(detail)
        self.message_user(
            request, f"NDA version {version.label} is approved and offered to requesters.", messages.SUCCESS
        )
        return HttpResponseRedirect(detail)


@admin.register(NdaApproval)
class NdaApprovalAdmin(ReadOnlyAdmin):
    list_display = ("nda_version", "approved_at", "approved_by", "proposed_by")
    list_select_related = ("nda_version", "approved_by", "proposed_by")
    fields = ("nda_version", "text_sha256", "summary", "proposed_by", "approved_by", "approved_at")
    readonly_fields = fields


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
