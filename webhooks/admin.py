"""Staff views of webhook endpoints, deliveries and attempts.

Endpoints are registered and changed through `webhooks.services` (each change
with a reason); the signing secret is shown once, on a page that is never
stored (not in a message, which may travel in a cookie). Deliveries and their
attempts are read-only; the "Redeliver" action sends a delivery again with
the same webhook-id.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.auth import acting_user
from compliance.services import REASON_MAX_LENGTH
from core.admin_readonly import ReadOnlyAdmin, ReadOnlyInline
from core.http import mark_no_store

from . import services
from .enums import WebhookEvent
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


class EndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(
        label="Reason for this change",
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the endpoint's history with your name.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "url", "events", "payload_format", "enabled")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            try:
                fields = services.endpoint_clean(
                    name=cleaned.get("name"),
                    url=cleaned.get("url"),
                    events=cleaned.get("events"),
                    payload_format=cleaned.get("payload_format"),
                )
            except ValidationError as exc:
                raise ValidationError(exc.error_dict if hasattr(exc, "error_dict") else exc) from None
            cleaned.update(name=fields.name, url=fields.url, events=fields.events)
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))


class AttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ("number", "attempted_at", "status_code", "error", "duration_ms")
    readonly_fields = fields


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ("name", "url", "payload_format", "enabled", "failing_since", "consecutive_failures")
    list_filter = ("enabled", "payload_format")
    readonly_fields = ("failing_since", "consecutive_failures", "created_at", "created_by")
    actions = ("resume", "rotate_secret")

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> list[str]:  # type: ignore[override]
        if obj is None:
            return ["name", "url", "events", "payload_format", "reason"]
        return ["name", "url", "events", "payload_format", "enabled", "reason", *self.readonly_fields]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deliveries keep their endpoint: disable it instead

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = services.endpoint_update(
                endpoint_id=obj.pk,
                name=data["name"],
                url=data["url"],
                events=data["events"],
                payload_format=data["payload_format"],
                enabled=data["enabled"],
                actor=acting_user(request),
                reason=data["reason"],
            )
        else:
            saved, secret = services.endpoint_create(
                name=data["name"],
                url=data["url"],
                events=data["events"],
                payload_format=data["payload_format"],
                actor=acting_user(request),
                reason=data["reason"],
            )
            obj._new_secret = secret  # type: ignore[attr-defined]  # shown by response_add, once
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # no relations; the service saved everything

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the endpoint's history row records who and why

    log_change = log_addition

    def _secret_page(self, request: HttpRequest, endpoint: WebhookEndpoint, secret: str) -> HttpResponse:
        response = TemplateResponse(
            request,
            "admin/webhooks/webhookendpoint/secret.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Webhook signing secret",
                "endpoint": endpoint,
                "secret": secret,
            },
        )
        return mark_no_store(response)

    def response_add(
        self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: str | None = None
    ) -> HttpResponse:
        return self._secret_page(request, obj, obj._new_secret)  # type: ignore[attr-defined]

    @admin.action(description="Resume sending (queue the held deliveries again)", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        queued = sum(services.endpoint_resume(endpoint_id=e.pk, actor=acting_user(request)) for e in queryset)
        self.message_user(request, f"Resumed; {queued} held deliveries queued again.", messages.SUCCESS)

    @admin.action(description="Replace the signing secret (asks for a reason)", permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> HttpResponse | None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        endpoints = list(queryset)
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            if len(endpoints) != 1:
                self.message_user(request, "Replace the secret of one endpoint at a time.", messages.ERROR)
                return None
            secret = services.endpoint_rotate_secret(
                endpoint_id=endpoints[0].pk, actor=acting_user(request), reason=form.cleaned_data["reason"]
            )
            return self._secret_page(request, endpoints[0], secret)
        return TemplateResponse(
            request,
            "admin/webhooks/webhookendpoint/rotate.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "endpoints": endpoints,
                "form": form,
                "title": "Replace the signing secret",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "endpoint",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "delivered_at",
        "webhook_id",
    )
    list_filter = ("status", "event_type", "endpoint")
    list_select_related = ("endpoint",)
    search_fields = ("webhook_id",)
    date_hierarchy = "created_at"
    fields = (
        "endpoint",
        "event_type",
        "webhook_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
        "redelivered_at",
        "redelivered_by",
        "body",
    )
    readonly_fields = fields
    inlines = (AttemptInline,)
    actions = ("redeliver",)

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(services.MANAGE_PERMISSION)

    @admin.action(description="Redeliver (the same webhook-id)", permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        if not self.has_redeliver_permission(request):
            raise PermissionDenied
        count = 0
        for delivery in queryset:
            try:
                services.delivery_redeliver(delivery_id=delivery.pk, actor=acting_user(request))
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
                continue
            count += 1
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    list_display = ("attempted_at", "delivery", "number", "status_code", "error", "duration_ms")
    list_filter = ("status_code",)
    list_select_related = ("delivery",)
    date_hierarchy = "attempted_at"
    fields = ("delivery", "number", "attempted_at", "status_code", "error", "duration_ms")
    readonly_fields = fields
