"""Webhook endpoints, their deliveries and each attempt to deliver.

An endpoint is changed only through `webhooks.services` (with history and a
reason). A delivery is written in the transaction that queues it and sent by
the task worker (`webhooks.delivery`); each try is an `WebhookAttempt` row.
The delivery keeps the exact body it signs, so a redelivery sends the same
`webhook-id` and body (with a fresh timestamp and signature).
"""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from evidence.registry import ChainSpec

from .enums import DeliveryStatus, PayloadFormat


class WebhookEndpoint(models.Model):
    name = models.CharField(max_length=100, help_text="For staff: what this endpoint is (e.g. “Security Slack”).")
    url = models.CharField(
        max_length=2000, help_text="Where deliveries are POSTed. https only (unless WEBHOOKS_ALLOW_HTTP)."
    )
    events = models.JSONField(default=list, help_text="The event types (WebhookEvent values) this endpoint wants.")
    payload_format = models.CharField(max_length=10, choices=PayloadFormat.choices, default=PayloadFormat.STANDARD)
    # The signing secret ("whsec_<base64>"), sealed with a key derived from
    # SECRET_KEY (webhooks.signing): a database dump alone cannot sign.
    secret_sealed = models.TextField(editable=False)
    enabled = models.BooleanField(default=True, help_text="A disabled endpoint gets no new deliveries.")
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="Set after WEBHOOKS_FAILURE_LIMIT failures in a row; sending stops."
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    # Who pointed deliveries where, and when: the versions are chained. The
    # failure counter changes on every failed try and is left out.
    history = HistoricalRecords(excluded_fields=["consecutive_failures"])
    chain_spec = ChainSpec(history=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "webhook endpoint"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(payload_format__in=PayloadFormat.values), name="webhookendpoint_format_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    event_type = models.CharField(max_length=40)
    webhook_id = models.CharField(
        max_length=40, unique=True, help_text="The webhook-id header; the same on redelivery."
    )
    body = models.TextField(help_text="The exact JSON body that is signed and sent.")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    redelivered_at = models.DateTimeField(null=True, blank=True)
    redelivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values), name="webhookdelivery_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=DeliveryStatus.DELIVERED) | models.Q(delivered_at__isnull=False),
                name="webhookdelivery_delivered_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhookdelivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id}"


class WebhookAttempt(models.Model):
    """One try to deliver: when, the HTTP status answered (None: no answer) and any error."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.PROTECT, related_name="attempt_log")
    number = models.PositiveIntegerField(help_text="1 for the delivery's first try, counting redeliveries on.")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery", "number"]
        verbose_name = "webhook attempt"
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhookattempt_one_per_number"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery.webhook_id} #{self.number}: {self.status_code or self.error}"
