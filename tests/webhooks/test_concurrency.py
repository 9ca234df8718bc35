"""Two workers on one delivery: one request goes out (PostgreSQL row locks)."""

import datetime as dt
from functools import partial

import pytest

from tests.concurrency import race
from webhooks import services
from webhooks.delivery import deliveries_queue, delivery_send_one
from webhooks.models import WebhookAttempt

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


def test_two_workers_send_one_delivery_once(root, receiver):
    services.endpoint_create(
        name="Ops", url=receiver.url, events=["ticket.created"], payload_format="standard", actor=root, reason="r"
    )
    for round_ in range(3):
        (delivery_id,) = deliveries_queue(
            event_type="ticket.created", data={"reference": f"DPA-{round_}", "kind": "dpa"}, now=T0
        )
        assert sorted(race(*[partial(delivery_send_one, delivery_id=delivery_id, now=T0)] * 2)) == [
            "delivered",
            "skipped",
        ]
    assert len(receiver.requests) == 3
    assert WebhookAttempt.objects.count() == 3
