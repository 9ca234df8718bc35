"""The body each endpoint gets for an event, in its format.

Standard (Standard Webhooks' recommended shape):

    {"type": "ticket.created", "timestamp": "2026-12-02T05:40:00Z", "data": {...}}

Slack-compatible (an incoming webhook's JSON): {"text": "..."}, one line made
from the same data.

`data` is the event's payload as sent inside the application: ids, references,
kinds, states and counts, never personal data (docs/webhooks.md lists them).
"""

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from .enums import PayloadFormat, WebhookEvent

SLACK_TEXT: dict[str, str] = {
    WebhookEvent.PUBLICATION_LIVE: "Trust center version {version} is live: {site_url}/",
    WebhookEvent.UPDATE_PUBLISHED: "A new {category} update was published: {site_url}/updates/",
    WebhookEvent.TICKET_CREATED: "New request {reference} ({kind})",
    WebhookEvent.TICKET_STATE_CHANGED: "Request {reference} ({kind}): {from_state} → {to_state}",
    WebhookEvent.OBJECTION_FILED: (
        "Objection {reference} filed against the change of {subprocessor_slug} (version {publication_version})"
    ),
    WebhookEvent.INCIDENT_CREATED: "Incident {reference} recorded",
    WebhookEvent.INCIDENT_NOTIFIED: "Incident {reference}: {notice_count} notice(s) sent",
}


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def _slack_escape(value: Any) -> str:
    # The three characters Slack's mrkdwn asks to escape.
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(event_type: str, data: Mapping[str, Any]) -> str:
    values = _Missing({key: _slack_escape(value) for key, value in data.items()})
    values["site_url"] = settings.SITE_URL
    template = SLACK_TEXT.get(event_type, "{type}")
    values["type"] = event_type
    return template.format_map(values)


def body_render(*, event_type: str, data: Mapping[str, Any], payload_format: str, at: dt.datetime) -> str:
    """The JSON text an endpoint of `payload_format` is sent for one event."""
    if payload_format == PayloadFormat.SLACK:
        document: dict[str, Any] = {"text": slack_text(event_type, data)}
    else:
        timestamp = at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        document = {"type": event_type, "timestamp": timestamp, "data": dict(data)}
    return json.dumps(document, cls=DjangoJSONEncoder, separators=(",", ":"))
