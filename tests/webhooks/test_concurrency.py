"""Two workers on one delivery: one request goes out (PostgreSQL row locks)."""

import datetime as dt
import threading

import pytest
from django.db import connection

from webhooks import services
from webhooks.delivery import deliveries_queue, delivery_send_one
from webhooks.models import WebhookAttempt

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


def race(delivery_id: int) -> list[str]:
    """Two workers send the delivery at the same moment, each on its own connection."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def work() -> None:
        try:
            barrier.wait()
            outcomes.append(delivery_send_one(delivery_id=delivery_id, now=T0))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_two_workers_send_one_delivery_once(root, receiver):
    services.endpoint_create(
        name="Ops", url=receiver.url, events=["ticket.created"], payload_format="standard", actor=root, reason="r"
    )
    for round_ in range(3):
        (delivery_id,) = deliveries_queue(
            event_type="ticket.created", data={"reference": f"DPA-{round_}", "kind": "dpa"}, now=T0
        )
        assert sorted(race(delivery_id)) == ["delivered", "skipped"]
    assert len(receiver.requests) == 3
    assert WebhookAttempt.objects.count() == 3
