"""The publishing part of the admin: every version, and the requests that an
approver reviews and decides. Decisions go through the publishing services,
which enforce the permissions and the four-eyes rule."""

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from accounts.auth import acting_user
from core.admin_readonly import ReadOnlyAdmin

from .. import services
from ..diff import snapshot_diff
from ..enums import PublicationRequestStatus
from ..forms import PublicationApproveForm, PublicationRejectForm, PublicationRequestForm
from ..models import Publication, PublicationRequest
from ..selectors import DraftComparison, draft_comparison, live_publication, scheduled_publications
from ..snapshot import build_snapshot, snapshot_fingerprint
from .review import ReviewedRequestAdmin, error_text


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdmin):
    """Every version ever approved. Read-only: publications are never changed."""

    list_display = ["version", "summary", "effective_at", "state", "requested_by_name", "approved_by_name"]
    list_select_related = ["requested_by", "approved_by"]
    list_filter = ["effective_at"]
    search_fields = ["summary"]
    fields = (
        "version",
        "summary",
        "effective_at",
        "snapshot_taken_at",
        "approved_at",
        "requested_by_name",
        "approved_by_name",
        "changes",
        "snapshot_json",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        live = Publication.objects.live().values("version")[:1]
        return super().get_queryset(request).annotate(live_version=Subquery(live))

    @admin.display(description="requested by")
    def requested_by_name(self, obj: Publication) -> str:
        # The name at the time; versions from before names were kept show today's.
        return obj.requested_by_username or obj.requested_by.get_username()

    @admin.display(description="approved by")
    def approved_by_name(self, obj: Publication) -> str:
        return obj.approved_by_username or obj.approved_by.get_username()

    @admin.display(description="state")
    def state(self, obj: Publication) -> str:
        if obj.version == getattr(obj, "live_version", None):
            return "live"
        if obj.effective_at > timezone.now():
            return "scheduled"
        if (getattr(obj, "live_version", None) or 0) < obj.version:
            return "superseded before going live"
        return "earlier version"

    @admin.display(description="changes from the previous version")
    def changes(self, obj: Publication) -> str:
        previous = Publication.objects.filter(version__lt=obj.version).order_by("-version").first()
        if previous is None:
            return "First publication."
        lines = [c.text for c in snapshot_diff(previous.snapshot, obj.snapshot)] or ["No visible change."]
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines))

    @admin.display(description="snapshot")
    def snapshot_json(self, obj: Publication) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.snapshot, indent=2, ensure_ascii=False))


@admin.register(PublicationRequest)
class PublicationRequestAdmin(ReviewedRequestAdmin):
    """Editors ask for publication here; approvers publish, schedule or reject.

    Every decision goes through the publishing services, which enforce the
    permissions and the four-eyes rule; this class only shows and forwards.
    """

    approve_permission = "compliance.approve_publication"
    approve_refusal = "You are not allowed to approve publications."
    approve_form = PublicationApproveForm
    reject_form = PublicationRejectForm

    list_display = ["id", "summary", "status", "requested_by", "requested_at", "decided_by", "publication"]
    list_filter = ["status"]
    list_select_related = ["requested_by", "decided_by", "publication"]
    fields = (
        "summary",
        "status",
        "requested_by",
        "requested_at",
        "snapshot_taken_at",
        "snapshot_sha256",
        "decided_by",
        "decided_at",
        "rejection_reason",
        "publication",
    )
    readonly_fields = fields
    change_form_template = "admin/compliance/publicationrequest/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("compliance.request_publication")

    def has_change_permission(self, request: HttpRequest, obj: PublicationRequest | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PublicationRequest | None = None) -> bool:
        return False

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PublicationRequestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                created = services.publication_request(summary=form.cleaned_data["summary"], actor=acting_user(request))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(request, "Publication requested; an approver will review it.", messages.SUCCESS)
                return HttpResponseRedirect(self._detail_url(created.pk))
        comparison = draft_comparison()
        context = {
            **self.admin_site.each_context(request),
            "title": "Ask for publication",
            "opts": self.model._meta,
            "form": form,
            "comparison": comparison,
            "pending": PublicationRequest.objects.filter(status=PublicationRequestStatus.PENDING).first(),
        }
        return TemplateResponse(request, "admin/compliance/publicationrequest/request_form.html", context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = extra_context or {}
        obj = self.get_object(request, object_id)
        if obj is not None and obj.status == PublicationRequestStatus.PENDING:
            extra_context.update(self._review_context(request, obj))
        return super().change_view(request, object_id, form_url, extra_context)

    def _review_context(self, request: HttpRequest, obj: PublicationRequest) -> dict[str, Any]:
        """What the approver reviews: the snapshot the request froze, against the live page."""
        if obj.snapshot is None:
            return {"unfrozen_request": True}
        live = live_publication()
        comparison = DraftComparison(live, obj.snapshot, snapshot_diff(live.snapshot if live else None, obj.snapshot))
        can_approve = request.user.has_perm("compliance.approve_publication")
        refusal = None
        if can_approve:
            try:
                services.four_eyes_check(
                    requested_by_id=obj.requested_by_id, actor=acting_user(request), frozen_at=obj.snapshot_taken_at
                )
            except ValidationError as exc:
                refusal = error_text(exc)
        return {
            "comparison": comparison,
            "frozen_request": obj,
            "draft_moved_on": snapshot_fingerprint(build_snapshot()) != obj.snapshot_sha256,
            "can_approve": can_approve,
            "four_eyes_refusal": refusal,
            "scheduled": scheduled_publications(),
            "approve_form": PublicationApproveForm(initial={"fingerprint": obj.snapshot_sha256}),
            "reject_form": PublicationRejectForm(),
        }

    def approve(self, request: HttpRequest, pk: int, data: dict[str, Any]) -> tuple[str, str]:
        publication = services.publication_approve(
            request_id=pk,
            actor=acting_user(request),
            effective_at=data["effective_at"],
            fingerprint=data["fingerprint"],
        )
        if publication.approved_at and publication.effective_at > publication.approved_at:
            when = date_format(timezone.localtime(publication.effective_at), "j F Y, H:i T")
            done = f"Version {publication.version} is scheduled to go live on {when}."
        else:
            done = f"Version {publication.version} is live."
        return done, reverse("admin:compliance_publication_changelist")

    def reject(self, request: HttpRequest, pk: int, reason: str) -> None:
        services.publication_reject(request_id=pk, actor=acting_user(request), reason=reason)
