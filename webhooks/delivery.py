"""Webhook deliveries: queued in the caller's transaction, sent by the task
worker with retries and exponential backoff, the way the mail outbox sends mail
(`core.outbox`: the same backoff and hand-over to the worker).

- `deliveries_queue` writes one `WebhookDelivery` per endpoint that wants the
  event, with the body it will sign, and enqueues `send_webhook_delivery`
  after commit.
- `delivery_send_one` locks the delivery row, resolves and checks the
  endpoint's address again (`webhooks.addresses`), signs (Standard Webhooks:
  webhook-id, webhook-timestamp, webhook-signature) and POSTs to the checked
  address. Every try is a `WebhookAttempt` row (time, status code, error). A
  2xx answer delivers; anything else is retried after
  WEBHOOKS_RETRY_BASE_SECONDS x 2^(n-1) (capped at WEBHOOKS_RETRY_MAX_SECONDS).
- After WEBHOOKS_FAILURE_LIMIT failed tries in a row (any of its deliveries)
  the endpoint is marked failing (a history row by the system account) and its
  queued deliveries are held; resuming the endpoint queues them again.
- A redelivery (`webhooks.services.delivery_redeliver`) queues the same row:
  same webhook-id, same body, a fresh timestamp and signature.

Logs name delivery ids, event types and status codes only.
"""

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from core.history import stamp_history, system_actor
from core.outbox import enqueue_row_task, retry_delay

from .addresses import target_parse, target_resolve
from .enums import DeliveryStatus
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .payloads import body_render
from .signing import SecretUnreadable, signed_headers, unseal
from .transport import post

logger = logging.getLogger(__name__)


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def enqueue_delivery(delivery_id: int, run_after: dt.datetime | None = None) -> None:
    enqueue_row_task(send_webhook_delivery, delivery_id, run_after=run_after, what="webhook delivery")


def deliveries_queue(*, event_type: str, data: Mapping[str, Any], now: dt.datetime | None = None) -> list[int]:
    """Write a delivery of the event to every enabled endpoint that wants it;
    returns their ids. Held at once for an endpoint that is failing."""
    now = now or timezone.now()
    ids = []
    with transaction.atomic():
        for endpoint in WebhookEndpoint.objects.filter(enabled=True).order_by("pk"):
            if event_type not in endpoint.events:
                continue
            delivery = WebhookDelivery.objects.create(
                endpoint=endpoint,
                event_type=event_type,
                webhook_id=new_webhook_id(),
                body=body_render(event_type=event_type, data=data, payload_format=endpoint.payload_format, at=now),
                status=DeliveryStatus.HELD if endpoint.failing_since else DeliveryStatus.QUEUED,
                next_attempt_at=now,
                created_at=now,
            )
            if delivery.status == DeliveryStatus.QUEUED:
                transaction.on_commit(partial(enqueue_delivery, delivery.pk))
            ids.append(delivery.pk)
    if ids:
        logger.info("Webhook %s: %s deliveries queued", event_type, len(ids))
    return ids


def _try(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str, int]:
    """One POST of the delivery; (status code or None, error or "", milliseconds)."""
    try:
        target = target_parse(endpoint.url)
        ip = target_resolve(target)
        headers = signed_headers(
            secret=unseal(endpoint.secret_sealed),
            webhook_id=delivery.webhook_id,
            body=delivery.body,
            at=dt.datetime.now(dt.UTC),
        )
        answer = post(
            target, ip, body=delivery.body.encode(), headers=headers, timeout=settings.WEBHOOKS_TIMEOUT_SECONDS
        )
    except ValidationError as exc:
        return None, f"refused: {' '.join(exc.messages)}"[:300], 0
    except SecretUnreadable:
        return None, "the signing secret cannot be read (was SECRET_KEY changed without a fallback?)", 0
    except Exception as exc:
        # Network, TLS, a malformed answer: this delivery is retried, the others still go out.
        return None, f"{type(exc).__name__}: {exc}"[:300], 0
    if 200 <= answer.status_code < 300:
        return answer.status_code, "", answer.duration_ms
    note = " (redirects are not followed)" if 300 <= answer.status_code < 400 else ""
    return answer.status_code, f"HTTP {answer.status_code}{note}", answer.duration_ms


def _endpoint_fail(endpoint_id: int, *, now: dt.datetime) -> bool:
    """Count one more failure in a row; mark the endpoint failing at the limit.
    True when it is (now) failing. In the caller's transaction."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    # The counter is no part of the endpoint's history: an UPDATE, not a save.
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(consecutive_failures=F("consecutive_failures") + 1)
    failures = endpoint.consecutive_failures + 1
    if endpoint.failing_since is not None:
        return True
    if failures < settings.WEBHOOKS_FAILURE_LIMIT:
        return False
    endpoint.consecutive_failures = failures
    endpoint.failing_since = now
    stamp_history(endpoint, actor=system_actor(), reason=f"marked failing after {failures} failed tries in a row")
    endpoint.save()
    held = WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=DeliveryStatus.QUEUED).update(
        status=DeliveryStatus.HELD
    )
    logger.error("Webhook endpoint id=%s marked failing after %s failed tries; %s held", endpoint_id, failures, held)
    return True


def delivery_send_one(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """Try to deliver one queued delivery that is due.

    Returns "delivered", "retry" (next try at next_attempt_at), "failing" (this
    failure marked the endpoint failing; the delivery is held), "held" (the
    endpoint is failing or disabled), "not_due", or "skipped" (not queued any
    more, or locked by another worker)."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id, status=DeliveryStatus.QUEUED)
            .first()
        )
        if delivery is None:
            return "skipped"
        if delivery.next_attempt_at > now:
            return "not_due"
        endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
        if endpoint.failing_since is not None or not endpoint.enabled:
            delivery.status = DeliveryStatus.HELD
            delivery.save(update_fields=["status"])
            return "held"
        delivery.attempts += 1
        status_code, error, duration_ms = _try(endpoint, delivery)
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=WebhookAttempt.objects.filter(delivery=delivery).count() + 1,
            attempted_at=now,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
        delivery.last_status_code, delivery.last_error = status_code, error
        if not error:
            delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
            WebhookEndpoint.objects.filter(pk=endpoint.pk, consecutive_failures__gt=0).update(consecutive_failures=0)
            outcome = "delivered"
            logger.info("Webhook delivery id=%s (%s) delivered: %s", delivery.pk, delivery.event_type, status_code)
        elif _endpoint_fail(endpoint.pk, now=now):
            delivery.status = DeliveryStatus.HELD
            outcome = "failing"
        else:
            delivery.next_attempt_at = now + retry_delay(
                delivery.attempts,
                base_seconds=settings.WEBHOOKS_RETRY_BASE_SECONDS,
                max_seconds=settings.WEBHOOKS_RETRY_MAX_SECONDS,
            )
            outcome = "retry"
            logger.warning(
                "Webhook delivery id=%s attempt %s failed (%s); next try at %s",
                delivery.pk,
                delivery.attempts,
                status_code or "no answer",
                delivery.next_attempt_at.isoformat(),
            )
        delivery.save()
    return outcome


def deliveries_send_due(*, now: dt.datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Send every queued delivery that is due (at most `limit`); counts per outcome."""
    now = now or timezone.now()
    ids = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    counts = dict.fromkeys(("delivered", "retry", "failing", "held", "not_due", "skipped"), 0)
    for delivery_id in ids:
        counts[delivery_send_one(delivery_id=delivery_id, now=now)] += 1
    return counts


def deliveries_requeue(queryset: Any, *, now: dt.datetime) -> list[int]:
    """Queue the given deliveries again, due now, with a fresh round of tries
    (same webhook-id and body); enqueued after commit. Returns their ids."""
    ids = list(queryset.values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.QUEUED, attempts=0, next_attempt_at=now)
    for delivery_id in ids:
        transaction.on_commit(partial(enqueue_delivery, delivery_id))
    return ids


@task()
def send_webhook_delivery(delivery_id: int) -> str:
    """Send one delivery; after a failure, schedule the next try at its backoff time."""
    outcome = delivery_send_one(delivery_id=delivery_id)
    if outcome in {"retry", "not_due"}:
        next_attempt_at = WebhookDelivery.objects.values_list("next_attempt_at", flat=True).get(pk=delivery_id)
        enqueue_delivery(delivery_id, run_after=next_attempt_at)
    return outcome
