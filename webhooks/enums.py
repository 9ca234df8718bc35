from django.db import models


class WebhookEvent(models.TextChoices):
    """What an endpoint may ask to hear about; the value is the payload's `type`."""

    PUBLICATION_LIVE = "publication.live", "Publication live"
    UPDATE_PUBLISHED = "update.published", "Update published"
    TICKET_CREATED = "ticket.created", "Ticket created"
    TICKET_STATE_CHANGED = "ticket.state_changed", "Ticket state changed"
    OBJECTION_FILED = "objection.filed", "Objection filed"
    INCIDENT_CREATED = "incident.created", "Incident created"
    INCIDENT_NOTIFIED = "incident.notified", "Incident notified"


class PayloadFormat(models.TextChoices):
    STANDARD = "standard", "Standard Webhooks JSON"
    SLACK = "slack", 'Slack-compatible incoming webhook ({"text": …})'


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    DELIVERED = "delivered", "Delivered"
    # The endpoint is failing: kept, and queued again when it is resumed.
    HELD = "held", "Held (endpoint failing)"
