"""Updates in the admin: editors write them (each change with a reason) and
ask for publication from the update's page; approvers publish or reject the
frozen text of a request. Every write goes through the update services,
which enforce the permissions and the four-eyes rule."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse

from accounts.auth import acting_user
from core.admin_readonly import ReadOnlyAdmin

from .. import services
from ..enums import PublicationRequestStatus, UpdateCategory
from ..forms import PublicationRejectForm as UpdateRejectForm
from ..forms import UpdateApproveForm
from ..markdown import markdown_to_html
from ..models import Update, UpdatePublication, UpdateRequest
from ..selectors import latest_update_publication, update_concern_choices
from ..snapshot import snapshot_fingerprint
from . import REASON_FIELD, ContentAdmin, ReasonForm
from .review import ReviewedRequestAdmin, error_text


class UpdateForm(ReasonForm):
    concerns = forms.MultipleChoiceField(
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text="The sections or items of the page this update is about (hold Ctrl or ⌘ to pick several).",
    )

    class Meta:
        model = Update
        fields = ["title", "slug", "category", "body", "concerns", "effective_at"]
        widgets = {"body": forms.Textarea(attrs={"rows": 14, "cols": 80})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[Any] = list(update_concern_choices())
        known = {ref for _, refs in choices for ref, _ in refs}
        # References the update already holds stay choosable after their item was retired.
        held = [(ref, ref) for ref in (self.instance.concerns or []) if ref not in known]
        if held:
            choices.append(("No longer on the page", held))
        field = self.fields["concerns"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = choices

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # ModelForm's hook, untyped in the stubs
        try:
            services.update_check(self.instance)
        except ValidationError as exc:
            self.add_error(None, exc)


@admin.register(Update)
class UpdateAdmin(ContentAdmin):
    """Updates: written like page content, published one by one with their own review."""

    form = UpdateForm
    list_display = ["title", "category", "state", "effective_at"]
    list_filter = ["category"]
    search_fields = ["title", "body"]
    prepopulated_fields = {"slug": ("title",)}
    change_form_template = "admin/compliance/update/change_form.html"

    @admin.display(description="state")
    def state(self, obj: Update) -> str:
        return _update_state(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Update | None = None) -> bool:
        if obj is not None and UpdateRequest.objects.filter(update=obj).exists():
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: models.Model, form: forms.Form, change: bool) -> None:
        assert isinstance(obj, Update)
        services.update_save(obj=obj, actor=acting_user(request), reason=form.cleaned_data[REASON_FIELD])

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        assert isinstance(obj, Update)
        reason = request._content_change_reason  # type: ignore[attr-defined]  # set by ContentAdmin.delete_view
        services.update_delete(obj=obj, actor=acting_user(request), reason=reason)

    def get_urls(self) -> list:
        return [
            path(
                "<int:pk>/request-publication/",
                self.admin_site.admin_view(self.request_view),
                name="compliance_update_request",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if obj is not None:
            extra_context.update(
                {
                    "update_state": _update_state(obj),
                    "can_request": request.user.has_perm("compliance.request_update"),
                    "pending_request": UpdateRequest.objects.filter(
                        update=obj, status=PublicationRequestStatus.PENDING
                    ).first(),
                }
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def request_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.has_perm("compliance.request_update"):
            raise PermissionDenied("You are not allowed to ask for updates to be published.")
        change_url = reverse("admin:compliance_update_change", args=[pk])
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        try:
            created = services.update_request(update_id=pk, actor=acting_user(request))
        except ValidationError as exc:
            self.message_user(request, error_text(exc), messages.ERROR)
            return HttpResponseRedirect(change_url)
        self.message_user(request, "Publication asked for; an approver will review this text.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:compliance_updaterequest_change", args=[created.pk]))


def _update_state(obj: Update) -> str:
    published = latest_update_publication(obj.pk)
    pending = UpdateRequest.objects.filter(update=obj, status=PublicationRequestStatus.PENDING).exists()
    if published is None:
        return "draft, awaiting approval" if pending else "draft"
    if published.content_sha256 == snapshot_fingerprint(obj.frozen_content()):
        return f"published (revision {published.revision})"
    return f"published (revision {published.revision}); changed since" + (", awaiting approval" if pending else "")


@admin.register(UpdateRequest)
class UpdateRequestAdmin(ReviewedRequestAdmin):
    """Approvers read the frozen text of a request and publish or reject it.
    Requests are made from the update's own page."""

    approve_permission = "compliance.approve_update"
    approve_refusal = "You are not allowed to approve updates."
    reject_refusal = "You are not allowed to reject update requests."
    approve_form = UpdateApproveForm
    reject_form = UpdateRejectForm

    list_display = ["id", "title", "status", "requested_by", "requested_at", "decided_by"]
    list_filter = ["status"]
    list_select_related = ["requested_by", "decided_by"]
    fields = (
        "update",
        "status",
        "requested_by",
        "requested_at",
        "content_sha256",
        "decided_by",
        "decided_at",
        "rejection_reason",
        "publication",
    )
    readonly_fields = fields
    change_form_template = "admin/compliance/updaterequest/change_form.html"

    @admin.display(description="title")
    def title(self, obj: UpdateRequest) -> str:
        return str(obj.content.get("title", ""))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: UpdateRequest | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: UpdateRequest | None = None) -> bool:
        return False

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = extra_context or {}
        obj = self.get_object(request, object_id)
        if obj is not None:
            extra_context.update(self._review_context(request, obj))
        return super().change_view(request, object_id, form_url, extra_context)

    def _review_context(self, request: HttpRequest, obj: UpdateRequest) -> dict[str, Any]:
        """What the approver reviews: the frozen text, rendered as the public will see it."""
        content = obj.content
        published = latest_update_publication(obj.update_id)
        context: dict[str, Any] = {
            "frozen": content,
            "frozen_category": UpdateCategory(content["category"]).label,
            "frozen_body_html": markdown_to_html(str(content.get("body", ""))),
            "published": published if published is not None and published.pk != obj.publication_id else None,
            "pending": obj.status == PublicationRequestStatus.PENDING,
        }
        if not context["pending"]:
            return context
        can_approve = request.user.has_perm("compliance.approve_update")
        refusal = None
        if can_approve:
            try:
                services.update_four_eyes_check(request=obj, actor=acting_user(request))
            except ValidationError as exc:
                refusal = error_text(exc)
        draft = Update.objects.filter(pk=obj.update_id).first()
        return {
            **context,
            "draft_moved_on": draft is not None and snapshot_fingerprint(draft.frozen_content()) != obj.content_sha256,
            "can_approve": can_approve,
            "four_eyes_refusal": refusal,
            "approve_form": UpdateApproveForm(initial={"fingerprint": obj.content_sha256}),
            "reject_form": UpdateRejectForm(),
        }

    def approve(self, request: HttpRequest, pk: int, data: dict[str, Any]) -> tuple[str, str]:
        publication = services.update_approve(
            request_id=pk, actor=acting_user(request), fingerprint=data["fingerprint"]
        )
        return f"“{publication.content['title']}” is published.", reverse(
            "admin:compliance_updatepublication_changelist"
        )

    def reject(self, request: HttpRequest, pk: int, reason: str) -> None:
        services.update_reject(request_id=pk, actor=acting_user(request), reason=reason)


@admin.register(UpdatePublication)
class UpdatePublicationAdmin(ReadOnlyAdmin):
    """Every approved text of every update. Read-only: never changed."""

    list_display = ["title", "category", "revision", "published_at", "requested_by_username", "approved_by_username"]
    list_filter = ["published_at"]
    search_fields = ["content__title"]
    fields = (
        "update",
        "revision",
        "title",
        "category",
        "published_at",
        "first_published_at",
        "content_taken_at",
        "content_sha256",
        "requested_by_username",
        "approved_by_username",
        "body",
    )
    readonly_fields = fields

    @admin.display(description="title")
    def title(self, obj: UpdatePublication) -> str:
        return str(obj.content.get("title", ""))

    @admin.display(description="category")
    def category(self, obj: UpdatePublication) -> str:
        return UpdateCategory(obj.content["category"]).label

    @admin.display(description="body")
    def body(self, obj: UpdatePublication) -> str:
        return markdown_to_html(str(obj.content.get("body", "")))
