"""Which application event becomes which webhook: one row per event.

Each row names the channel and the webhook event type; the event's fields are
the payload's `data` as they are (`dataclasses.asdict`), so an event carried
to a webhook must hold no personal data (ids, references, kinds, states,
counts). The receiver runs after the sender's transaction committed and
writes the deliveries in a transaction of its own (`deliveries_queue`); a
failure is logged by `core.events` and never touches the change itself.
"""

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from compliance.events import publication_live, update_published
from core.events import Event, EventChannel
from customers.events import incident_notified, incident_recorded
from requests_app.events import ticket_created, ticket_state_changed
from subscriptions.events import objection_filed

from .delivery import deliveries_queue
from .enums import WebhookEvent

ROUTES: list[tuple[EventChannel[Any], WebhookEvent]] = [
    (publication_live, WebhookEvent.PUBLICATION_LIVE),
    (ticket_created, WebhookEvent.TICKET_CREATED),
    (ticket_state_changed, WebhookEvent.TICKET_STATE_CHANGED),
    (objection_filed, WebhookEvent.OBJECTION_FILED),
    (incident_recorded, WebhookEvent.INCIDENT_CREATED),
    (incident_notified, WebhookEvent.INCIDENT_NOTIFIED),
    (update_published, WebhookEvent.UPDATE_PUBLISHED),
]


def receiver_for(event_type: str) -> Callable[[Event], None]:
    def on_event(event: Event) -> None:
        deliveries_queue(event_type=event_type, data=asdict(event))

    on_event.__qualname__ = f"webhooks.on_{event_type}"
    return on_event


def connect() -> None:
    for channel, event_type in ROUTES:
        channel.connect(receiver_for(event_type.value), dispatch_uid=f"webhooks.{event_type.value}")
