"""The admin: registering shows the secret once on a page never stored; an
address inside is a form error; redelivery is an action on deliveries."""

import datetime as dt
import re

import pytest
from django.contrib.admin import helpers
from standardwebhooks.webhooks import Webhook

from webhooks import services
from webhooks.delivery import deliveries_queue, delivery_send_one
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.signing import unseal

pytestmark = pytest.mark.django_db

ADD = "/admin/webhooks/webhookendpoint/add/"
T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def root_client(client, root):
    client.force_login(root)
    return client


def form(**overrides):
    return {
        "name": "Security Slack",
        "url": "https://hooks.example.net/services/T000/B000",
        "events": ["ticket.created", "incident.created"],
        "payload_format": "slack",
        "reason": "security channel",
        **overrides,
    }


def test_adding_an_endpoint_shows_its_secret_once_on_a_page_never_stored(root_client, root):
    response = root_client.post(ADD, form())
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"].split(", ")
    endpoint = WebhookEndpoint.objects.get()
    secret = re.search(r'<code id="webhook-secret">(whsec_[A-Za-z0-9+/=]+)</code>', response.content.decode())
    assert secret is not None and unseal(endpoint.secret_sealed) == secret.group(1)
    assert (endpoint.name, endpoint.events, endpoint.payload_format, endpoint.created_by) == (
        "Security Slack",
        ["ticket.created", "incident.created"],
        "slack",
        root,
    )
    assert endpoint.history.get().history_change_reason == "security channel"
    # Nowhere else: not in a message cookie, not on the endpoint's page.
    assert all(secret.group(1) not in morsel.value for morsel in response.cookies.values())
    page = root_client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/")
    assert page.status_code == 200 and secret.group(1) not in page.content.decode()


def test_an_inside_address_is_a_form_error_and_saves_nothing(root_client, settings, dns):
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    dns["metadata.example"] = ["169.254.169.254"]
    response = root_client.post(ADD, form(url="https://metadata.example/latest"))
    assert response.status_code == 200
    assert "resolves to a link-local address (169.254.169.254)" in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_a_change_needs_a_reason_and_is_recorded(root_client, root):
    endpoint, _ = services.endpoint_create(
        name="Ops", url="https://hooks.example.net/a", events=["ticket.created"], payload_format="standard",
        actor=root, reason="first",
    )  # fmt: skip
    url = f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/"
    data = form(name="Ops 2", payload_format="standard", enabled="on")
    assert root_client.post(url, {**data, "reason": ""}).status_code == 200
    assert WebhookEndpoint.objects.get().name == "Ops"
    assert root_client.post(url, data).status_code == 302
    assert list(endpoint.history.order_by("history_id").values_list("name", "history_change_reason")) == [
        ("Ops", "first"),
        ("Ops 2", "security channel"),
    ]


def test_redeliver_action_sends_the_same_webhook_id(root_client, root, receiver):
    _, secret = services.endpoint_create(
        name="Ops", url=receiver.url, events=["ticket.created"], payload_format="standard", actor=root, reason="r"
    )
    (delivery_id,) = deliveries_queue(event_type="ticket.created", data={"reference": "DPA-1", "kind": "dpa"}, now=T0)
    delivery_send_one(delivery_id=delivery_id, now=T0)
    response = root_client.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "redeliver", helpers.ACTION_CHECKBOX_NAME: [delivery_id]},
    )
    assert response.status_code == 302
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.redelivered_by) == ("queued", root)
    assert delivery_send_one(delivery_id=delivery_id) == "delivered"
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.webhook_id
    Webhook(secret).verify(second.body, second.headers)


def test_staff_of_every_role_cannot_open_webhooks(client, make_staff):
    for role in ("Compliance editor", "Compliance approver", "Request handler", "Auditor"):
        client.force_login(make_staff(role.lower().replace(" ", "-"), role))
        for url in (ADD, "/admin/webhooks/webhookendpoint/", "/admin/webhooks/webhookdelivery/"):
            assert client.get(url).status_code == 403
