"""Which events become webhooks, and what their payloads carry: references,
kinds and states, never what a requester typed."""

import datetime as dt
import json

import pytest

from compliance.events import PublicationLive, UpdatePublished, publication_live, update_published
from customers.events import IncidentNotified, IncidentRecorded, incident_notified, incident_recorded
from requests_app.enums import TicketKind, TicketStatus
from requests_app.services import ticket_submit, ticket_transition
from subscriptions import services as subscription_services
from subscriptions.models import SubprocessorObjection
from tests.factories import SubprocessorFactory, publish_draft
from webhooks import services
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

REQUESTER = {
    "requester_name": "Ann Example",
    "requester_email": "ann@example.org",
    "legal_entity": "Example GmbH",
    "details": "Please countersign our DPA; call me on +49 30 1234567.",
}


@pytest.fixture
def endpoint(root):
    endpoint, _ = services.endpoint_create(
        name="Ops",
        url="https://hooks.example.net/in",
        events=["publication.live", "ticket.created", "ticket.state_changed", "objection.filed"],
        payload_format="standard",
        actor=root,
        reason="ops channel",
    )
    return endpoint


def payloads() -> list[tuple[str, dict]]:
    found = []
    for delivery in WebhookDelivery.objects.order_by("id"):
        body = json.loads(delivery.body)
        assert set(body) == {"type", "timestamp", "data"}
        assert body["type"] == delivery.event_type
        found.append((body["type"], body["data"]))
    return found


def test_ticket_webhooks_carry_reference_kind_and_states_only(endpoint, make_staff, django_capture_on_commit_callbacks):
    handler = make_staff("hana", "Request handler")
    with django_capture_on_commit_callbacks(execute=True):
        ticket, _ = ticket_submit(kind=TicketKind.DPA, data=REQUESTER, submission_token="webhook-token-000000001")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler, reason="")
    start = ticket.status
    assert payloads() == [
        ("ticket.created", {"reference": ticket.reference, "kind": "dpa"}),
        (
            "ticket.state_changed",
            {"reference": ticket.reference, "kind": "dpa", "from_state": start, "to_state": "in_progress"},
        ),
    ]
    for delivery in WebhookDelivery.objects.all():
        for value in ("Ann", "ann@example.org", "Example GmbH", "1234567"):
            assert value not in delivery.body


def test_a_retried_form_sends_no_second_ticket_webhook(endpoint, django_capture_on_commit_callbacks):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            ticket_submit(kind=TicketKind.DPA, data=REQUESTER, submission_token="webhook-token-000000002")
    assert [event for event, _ in payloads()] == ["ticket.created"]


def test_publication_live_becomes_a_webhook(endpoint):
    publication_live.send_now(PublicationLive(publication_id=12, version=4))
    assert payloads() == [("publication.live", {"publication_id": 12, "version": 4})]


def test_a_published_update_becomes_a_webhook(root):
    services.endpoint_create(
        name="News",
        url="https://hooks.example.net/news",
        events=["update.published"],
        payload_format="standard",
        actor=root,
        reason="news channel",
    )
    update_published.send_now(UpdatePublished(update_id=7, category="security"))
    assert payloads() == [("update.published", {"update_id": 7, "category": "security"})]


def test_incidents_become_webhooks_with_reference_and_count_only(root):
    services.endpoint_create(
        name="Security channel",
        url="https://hooks.example.net/incidents",
        events=["incident.created", "incident.notified"],
        payload_format="standard",
        actor=root,
        reason="incident channel",
    )
    incident_recorded.send_now(IncidentRecorded(incident_id=3, reference="INC-2026-0003"))
    incident_notified.send_now(IncidentNotified(incident_id=3, reference="INC-2026-0003", notice_count=2))
    assert payloads() == [
        ("incident.created", {"incident_id": 3, "reference": "INC-2026-0003"}),
        ("incident.notified", {"incident_id": 3, "reference": "INC-2026-0003", "notice_count": 2}),
    ]


def test_an_objection_is_a_webhook_once(
    endpoint, clock, published, editor, approver, settings, django_capture_on_commit_callbacks
):
    settings.SUBPROCESSOR_OBJECTION_DAYS = 30
    SubprocessorFactory.create(actor=editor)
    publication = publish_draft(requester=editor, approver=approver, effective_at=clock.now + dt.timedelta(days=30))
    WebhookDelivery.objects.all().delete()
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            ticket = subscription_services.objection_submit(
                publication=publication,
                subprocessor_slug="fly-io",
                data={**REQUESTER, "details": "We object."},
                submission_token="objection-token-webhook-01",
            )
    objection = SubprocessorObjection.objects.get(ticket=ticket)
    found = [(event, data) for event, data in payloads() if event == "objection.filed"]
    assert found == [
        (
            "objection.filed",
            {
                "objection_id": objection.pk,
                "reference": ticket.reference,
                "publication_version": publication.version,
                "subprocessor_slug": "fly-io",
            },
        )
    ]
    assert [event for event, _ in payloads()].count("ticket.created") == 1
