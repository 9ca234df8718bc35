"""Deliveries reach a real receiver on loopback, signed so that the
`standardwebhooks` verifier accepts them; failures back off and mark the
endpoint failing; a redelivery carries the same webhook-id."""

import datetime as dt
import json
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.history import system_actor
from webhooks import services
from webhooks.delivery import deliveries_queue, deliveries_send_due, delivery_send_one
from webhooks.enums import DeliveryStatus, PayloadFormat
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.signing import unseal

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
TICKET = {"reference": "DPA-2026-000042", "kind": "dpa"}


def register(actor, url, *, events=("ticket.created",), payload_format=PayloadFormat.STANDARD):
    return services.endpoint_create(
        name="Security team",
        url=url,
        events=list(events),
        payload_format=payload_format,
        actor=actor,
        reason="alerts for the security team",
    )


def queue_one(event_type="ticket.created", data=TICKET, now=T0) -> WebhookDelivery:
    (delivery_id,) = deliveries_queue(event_type=event_type, data=data, now=now)
    return WebhookDelivery.objects.get(pk=delivery_id)


def test_the_secret_is_standard_webhooks_format_shown_once_and_stored_sealed(root):
    endpoint, secret = register(root, "https://hooks.example.net/in")
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    assert secret not in endpoint.secret_sealed and secret[6:] not in endpoint.secret_sealed
    assert unseal(WebhookEndpoint.objects.get().secret_sealed) == secret
    assert list(endpoint.history.values_list("history_change_reason", "history_user")) == [
        ("alerts for the security team", root.pk)
    ]


def test_a_delivery_reaches_the_loopback_receiver_and_verifies(root, receiver):
    _endpoint, secret = register(root, receiver.url)
    delivery = queue_one()
    assert delivery_send_one(delivery_id=delivery.pk, now=T0) == "delivered"

    (request,) = receiver.requests
    assert request.path == "/hooks/in?src=trust"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["webhook-id"] == delivery.webhook_id
    assert re.fullmatch(r"msg_[0-9a-f]{32}", delivery.webhook_id)
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload == {"type": "ticket.created", "timestamp": "2026-06-01T09:00:00Z", "data": TICKET}
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(request.body.replace(b"042", b"043"), request.headers)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.delivered_at) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
        T0,
    )
    assert list(WebhookAttempt.objects.values_list("number", "attempted_at", "status_code", "error")) == [
        (1, T0, 200, "")
    ]


def test_endpoints_get_only_the_events_they_asked_for(root, receiver):
    register(root, receiver.url, events=("ticket.state_changed",))
    assert deliveries_queue(event_type="ticket.created", data=TICKET, now=T0) == []
    assert WebhookDelivery.objects.count() == 0


def test_a_slack_endpoint_gets_an_incoming_webhook_text(root, receiver):
    _, secret = register(root, receiver.url, events=("publication.live",), payload_format=PayloadFormat.SLACK)
    delivery = queue_one("publication.live", {"publication_id": 7, "version": 3})
    assert delivery_send_one(delivery_id=delivery.pk, now=T0) == "delivered"
    (request,) = receiver.requests
    assert json.loads(request.body) == {"text": "Trust center version 3 is live: https://trust.example.com/"}
    assert Webhook(secret).verify(request.body, request.headers) == json.loads(request.body)


def test_a_receiver_answering_500_gets_growing_delays_then_the_endpoint_is_marked_failing(root, receiver):
    receiver.statuses = [500]
    endpoint, secret = register(root, receiver.url)
    delivery = queue_one()

    moments, outcomes, waits = [T0], [], []
    for _ in range(4):
        assert delivery_send_one(delivery_id=delivery.pk, now=moments[-1] - dt.timedelta(seconds=1)) == "not_due" or (
            moments[-1] == T0
        )
        outcomes.append(delivery_send_one(delivery_id=delivery.pk, now=moments[-1]))
        delivery.refresh_from_db()
        waits.append((delivery.next_attempt_at - moments[-1]).total_seconds())
        moments.append(delivery.next_attempt_at)

    assert outcomes == ["retry", "retry", "retry", "failing"]
    assert waits[:3] == [60.0, 120.0, 240.0]
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.webhook_id] * 4
    for request in receiver.requests:
        Webhook(secret).verify(request.body, request.headers)
    assert list(WebhookAttempt.objects.values_list("number", "status_code", "error")) == [
        (n, 500, "HTTP 500") for n in (1, 2, 3, 4)
    ]
    failed_at = T0 + dt.timedelta(seconds=60 + 120 + 240)
    endpoint.refresh_from_db()
    assert (endpoint.failing_since, endpoint.consecutive_failures) == (failed_at, 4)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.HELD, 4)
    latest = endpoint.history.latest("history_id")
    assert (latest.history_change_reason, latest.history_user_id) == (
        "marked failing after 4 failed tries in a row",
        system_actor().pk,
    )

    # Stopped: nothing more is sent, new events are held, the drain skips them.
    later = queue_one(now=failed_at + dt.timedelta(hours=1))
    assert later.status == DeliveryStatus.HELD
    assert deliveries_send_due(now=failed_at + dt.timedelta(days=1))["delivered"] == 0
    assert len(receiver.requests) == 4

    # Redelivery is refused until the endpoint is resumed; resuming queues what was held.
    with pytest.raises(ValidationError) as refused:
        services.delivery_redeliver(delivery_id=delivery.pk, actor=root)
    assert refused.value.code == "webhook_endpoint_failing"
    receiver.statuses = [200]
    receiver.requests.clear()
    assert services.endpoint_resume(endpoint_id=endpoint.pk, actor=root, now=failed_at + dt.timedelta(days=1)) == 2
    counts = deliveries_send_due(now=failed_at + dt.timedelta(days=1))
    assert (counts["delivered"], counts["retry"]) == (2, 0)
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted([delivery.webhook_id, later.webhook_id])
    endpoint.refresh_from_db()
    assert (endpoint.failing_since, endpoint.consecutive_failures) == (None, 0)


def test_a_success_resets_the_count_of_failures_in_a_row(root, receiver):
    receiver.statuses = [500, 500, 500, 200, 500]
    _endpoint, _ = register(root, receiver.url)
    first, second = queue_one(), queue_one()
    now = T0
    for _ in range(3):
        delivery_send_one(delivery_id=first.pk, now=now)
        now += dt.timedelta(hours=1)
    assert delivery_send_one(delivery_id=first.pk, now=now) == "delivered"
    assert WebhookEndpoint.objects.get().consecutive_failures == 0
    assert delivery_send_one(delivery_id=second.pk, now=now) == "retry"
    assert WebhookEndpoint.objects.get().failing_since is None


def test_the_backoff_is_capped(root, receiver, settings):
    settings.WEBHOOKS_FAILURE_LIMIT = 20
    receiver.statuses = [503]
    register(root, receiver.url)
    delivery = queue_one()
    now, waits = T0, []
    for _ in range(8):
        delivery_send_one(delivery_id=delivery.pk, now=now)
        delivery.refresh_from_db()
        waits.append((delivery.next_attempt_at - now).total_seconds())
        now = delivery.next_attempt_at
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_redirect_is_not_followed(root, receiver):
    receiver.statuses = [302]
    register(root, receiver.url)
    delivery = queue_one()
    assert delivery_send_one(delivery_id=delivery.pk, now=T0) == "retry"
    assert len(receiver.requests) == 1
    assert WebhookAttempt.objects.get().error == "HTTP 302 (redirects are not followed)"


def test_redelivery_sends_the_same_webhook_id_and_body(root, receiver):
    _, secret = register(root, receiver.url)
    delivery = queue_one()
    assert delivery_send_one(delivery_id=delivery.pk, now=T0) == "delivered"
    later = T0 + dt.timedelta(hours=2)
    services.delivery_redeliver(delivery_id=delivery.pk, actor=root, now=later)
    assert delivery_send_one(delivery_id=delivery.pk, now=later) == "delivered"

    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.webhook_id
    assert first.body == second.body
    assert Webhook(secret).verify(second.body, second.headers) == Webhook(secret).verify(first.body, first.headers)
    delivery.refresh_from_db()
    assert (delivery.redelivered_at, delivery.redelivered_by, delivery.delivered_at) == (later, root, later)
    assert list(WebhookAttempt.objects.values_list("number", "attempted_at", "status_code")) == [
        (1, T0, 200),
        (2, later, 200),
    ]


def test_only_superusers_manage_endpoints_and_a_refusal_changes_nothing(root, make_staff, receiver):
    endpoint, _ = register(root, receiver.url)
    delivery = queue_one()
    for role in ("Compliance editor", "Compliance approver", "Request handler", "Auditor"):
        staff = make_staff(role.lower().replace(" ", "-"), role)
        with pytest.raises(PermissionDenied):
            register(staff, "https://hooks.example.net/other")
        with pytest.raises(PermissionDenied):
            services.delivery_redeliver(delivery_id=delivery.pk, actor=staff)
        with pytest.raises(PermissionDenied):
            services.endpoint_rotate_secret(endpoint_id=endpoint.pk, actor=staff, reason="leaked")
    assert WebhookEndpoint.objects.count() == 1
    delivery.refresh_from_db()
    assert (delivery.redelivered_by, delivery.status) == (None, DeliveryStatus.QUEUED)


def test_a_replaced_secret_signs_from_then_on(root, receiver):
    endpoint, old = register(root, receiver.url)
    new = services.endpoint_rotate_secret(endpoint_id=endpoint.pk, actor=root, reason="rotation")
    assert new != old
    delivery = queue_one()
    delivery_send_one(delivery_id=delivery.pk, now=T0)
    (request,) = receiver.requests
    Webhook(new).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request.body, request.headers)


# The worker closes connections it finds inside a transaction: this test commits for real.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_sends_and_schedules_the_retry_at_its_backoff_time(settings, receiver, make_staff):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    receiver.statuses = [500]
    register(make_staff("root", superuser=True), receiver.url)
    (delivery_id,) = deliveries_queue(event_type="ticket.created", data=TICKET)
    assert list(DBTaskResult.objects.values_list("task_path", flat=True)) == ["webhooks.delivery.send_webhook_delivery"]
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (len(receiver.requests), delivery.attempts, delivery.last_status_code) == (1, 1, 500)
    (retry,) = DBTaskResult.objects.filter(status="READY")
    assert (retry.task_path, retry.args_kwargs["args"], retry.run_after) == (
        "webhooks.delivery.send_webhook_delivery",
        [delivery_id],
        delivery.next_attempt_at,
    )
