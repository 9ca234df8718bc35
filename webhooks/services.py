"""Staff manage webhook endpoints and redeliver; every write goes through here.

Who may: whoever holds the model permissions named below. No role of
`accounts.roles.ROLES` holds them, so today that is superusers only
(docs/roles.md says why). Each change of an endpoint is a history row with
the actor and the reason (the versions are chained).
"""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from compliance.services import clean_reason
from core.history import stamp_history
from core.text import validate_single_line

from . import signing
from .addresses import target_check
from .delivery import deliveries_requeue
from .enums import DeliveryStatus, PayloadFormat, WebhookEvent
from .models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

MANAGE_PERMISSION = "webhooks.change_webhookendpoint"
ADD_PERMISSION = "webhooks.add_webhookendpoint"
NAME_MAX_LENGTH = 100


def _require(actor: User, permission: str) -> None:
    if not actor.is_active or not actor.has_perm(permission):
        raise PermissionDenied("You are not allowed to manage webhooks.")


@dataclass(frozen=True)
class EndpointFields:
    name: str
    url: str
    events: list[str]
    payload_format: str


def endpoint_clean(*, name: Any, url: Any, events: Any, payload_format: Any) -> EndpointFields:
    """Check what staff typed; raises ValidationError (a dict by field) or returns it cleaned.

    The URL must pass `webhooks.addresses.target_check`: its host resolves, now,
    to public addresses only."""
    errors: dict[str, list[ValidationError]] = {}
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        errors["name"] = [ValidationError("Give the endpoint a name.", code="webhook_name_required")]
    elif len(name) > NAME_MAX_LENGTH:
        errors["name"] = [ValidationError(f"Keep the name under {NAME_MAX_LENGTH} characters.", code="too_long")]
    else:
        try:
            validate_single_line(name)
        except ValidationError as exc:
            errors["name"] = [exc]
    url = (url or "").strip() if isinstance(url, str) else ""
    try:
        target_check(url)
    except ValidationError as exc:
        errors["url"] = [exc]
    wanted = set(events) if isinstance(events, list | tuple | set) else set()
    if not wanted:
        errors["events"] = [ValidationError("Choose at least one event.", code="webhook_events_required")]
    elif not wanted <= set(WebhookEvent.values):
        errors["events"] = [ValidationError("Unknown event type.", code="webhook_event_unknown")]
    if payload_format not in PayloadFormat.values:
        errors["payload_format"] = [ValidationError("Unknown payload format.", code="webhook_format_unknown")]
    if errors:
        raise ValidationError(errors)
    return EndpointFields(
        name=name,
        url=url,
        events=[value for value in WebhookEvent.values if value in wanted],
        payload_format=str(payload_format),
    )


def endpoint_create(
    *, name: str, url: str, events: list[str], payload_format: str, actor: User, reason: str
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its signing secret ("whsec_…"),
    which is shown to the actor once and stored only sealed."""
    _require(actor, ADD_PERMISSION)
    reason = clean_reason(reason)
    fields = endpoint_clean(name=name, url=url, events=events, payload_format=payload_format)
    secret = signing.new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint(
            name=fields.name,
            url=fields.url,
            events=fields.events,
            payload_format=fields.payload_format,
            secret_sealed=signing.seal(secret),
            created_at=timezone.now(),
            created_by=actor,
        )
        stamp_history(endpoint, actor=actor, reason=reason)
        endpoint.save()
    logger.info("Webhook endpoint id=%s registered by user id=%s", endpoint.pk, actor.pk)
    return endpoint, secret


def endpoint_update(
    *,
    endpoint_id: int,
    name: str,
    url: str,
    events: list[str],
    payload_format: str,
    enabled: bool,
    actor: User,
    reason: str,
) -> WebhookEndpoint:
    """Change an endpoint. Disabling it stops new deliveries (queued ones are
    held when their turn comes); enabling it again queues what was held, unless
    it is failing (see `endpoint_resume`)."""
    _require(actor, MANAGE_PERMISSION)
    reason = clean_reason(reason)
    fields = endpoint_clean(name=name, url=url, events=events, payload_format=payload_format)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        was_enabled = endpoint.enabled
        endpoint.name, endpoint.url = fields.name, fields.url
        endpoint.events, endpoint.payload_format = fields.events, fields.payload_format
        endpoint.enabled = bool(enabled)
        stamp_history(endpoint, actor=actor, reason=reason)
        endpoint.save()
        if endpoint.enabled and not was_enabled and endpoint.failing_since is None:
            deliveries_requeue(endpoint.deliveries.filter(status=DeliveryStatus.HELD), now=timezone.now())
    return endpoint


def endpoint_rotate_secret(*, endpoint_id: int, actor: User, reason: str) -> str:
    """Replace an endpoint's signing secret; returns the new one (shown once).
    Deliveries signed from now on use it, retries of earlier ones included."""
    _require(actor, MANAGE_PERMISSION)
    reason = clean_reason(reason)
    secret = signing.new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        endpoint.secret_sealed = signing.seal(secret)
        stamp_history(endpoint, actor=actor, reason=reason)
        endpoint.save()
    logger.info("Webhook endpoint id=%s: secret replaced by user id=%s", endpoint_id, actor.pk)
    return secret


def endpoint_resume(*, endpoint_id: int, actor: User, now: dt.datetime | None = None) -> int:
    """Clear an endpoint's failing mark and queue its held deliveries again
    (same webhook-ids), due now. Returns how many were queued."""
    _require(actor, MANAGE_PERMISSION)
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            endpoint.consecutive_failures = 0
            stamp_history(endpoint, actor=actor, reason="resumed after failing")
            endpoint.save()
        if not endpoint.enabled:
            return 0
        queued = deliveries_requeue(endpoint.deliveries.filter(status=DeliveryStatus.HELD), now=now)
    logger.info(
        "Webhook endpoint id=%s resumed by user id=%s; %s deliveries queued", endpoint_id, actor.pk, len(queued)
    )
    return len(queued)


def delivery_redeliver(*, delivery_id: int, actor: User, now: dt.datetime | None = None) -> WebhookDelivery:
    """Send a delivery again: the same webhook-id and body, a fresh timestamp
    and signature, a fresh round of tries. Refused while its endpoint is
    failing ("webhook_endpoint_failing": resume it first) or disabled."""
    _require(actor, MANAGE_PERMISSION)
    now = now or timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery_id)
        if delivery.endpoint.failing_since is not None:
            raise ValidationError(
                f"The endpoint {delivery.endpoint} is failing; resume it first.", code="webhook_endpoint_failing"
            )
        if not delivery.endpoint.enabled:
            raise ValidationError(f"The endpoint {delivery.endpoint} is disabled.", code="webhook_endpoint_disabled")
        deliveries_requeue(WebhookDelivery.objects.filter(pk=delivery.pk), now=now)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(redelivered_at=now, redelivered_by=actor)
        delivery.refresh_from_db()
    logger.info("Webhook delivery id=%s redelivered by user id=%s", delivery_id, actor.pk)
    return delivery
