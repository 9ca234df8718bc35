"""Endpoints may not reach into the trust center's own network: refused when
saved, and again when sent, after resolving the name (and then only the
checked address is connected to)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from webhooks import delivery as delivery_module
from webhooks import services
from webhooks.addresses import address_refusal
from webhooks.delivery import deliveries_queue, delivery_send_one
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
INTERNAL = ["127.0.0.1", "169.254.169.254", "10.0.0.5", "::1", "::ffff:127.0.0.1"]


def register(actor, url):
    return services.endpoint_create(
        name="Chat", url=url, events=["ticket.created"], payload_format="standard", actor=actor, reason="chat"
    )


@pytest.fixture
def no_loopback(settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = False


@pytest.mark.parametrize("address", INTERNAL)
def test_a_name_resolving_inside_is_refused_when_saved(root, dns, no_loopback, address):
    dns["hooks.evil.example"] = [address]
    with pytest.raises(ValidationError) as refused:
        register(root, "https://hooks.evil.example/in")
    assert [e.code for e in refused.value.error_dict["url"]] == ["webhook_address_refused"]
    assert WebhookEndpoint.objects.count() == 0


def test_one_inside_address_among_public_ones_is_refused(root, dns):
    dns["mixed.example"] = ["93.184.215.14", "10.1.2.3"]
    with pytest.raises(ValidationError) as refused:
        register(root, "https://mixed.example/in")
    assert "private address (10.1.2.3)" in refused.value.error_dict["url"][0].message
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:a9fe:a9fe]/",  # 169.254.169.254, IPv4-mapped
        "https://169.254.169.254/latest/meta-data/",
        "https://[fe80::1]/",
        "https://10.0.0.1/",
        "https://172.16.0.1/",
        "https://192.168.1.1/",
        "https://[fc00::1]/",
        "https://0.0.0.0/",
        "https://[::]/",
        "https://224.0.0.1/",
        "https://[ff02::1]/",
        "https://240.0.0.1/",
        "https://100.64.0.1/",
        "https://[2002:7f00:1::]/",  # 6to4 carrying 127.0.0.1
        "https://[64:ff9b::7f00:1]/",  # NAT64 carrying 127.0.0.1
    ],
)
def test_address_literals_inside_are_refused(root, no_loopback, url):
    with pytest.raises(ValidationError) as refused:
        register(root, url)
    assert refused.value.error_dict["url"][0].code == "webhook_address_refused"
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://hooks.example.net/in", "webhook_url_scheme"),
        ("ftp://hooks.example.net/in", "webhook_url_scheme"),
        ("https://user:pw@hooks.example.net/in", "webhook_url_userinfo"),
        ("https://unknown.example/in", "webhook_host_unresolved"),
        ("https:///in", "webhook_url_invalid"),
        ("https://hooks.example.net:99999/", "webhook_url_invalid"),
        ("https://hooks.example.net/in#x", "webhook_url_invalid"),
        ("https://hooks.example.net/a b", "webhook_url_invalid"),
        ("", "webhook_url_required"),
    ],
)
def test_malformed_or_plain_http_urls_are_refused(root, settings, url, code):
    settings.WEBHOOKS_ALLOW_HTTP = False
    with pytest.raises(ValidationError) as refused:
        register(root, url)
    assert refused.value.error_dict["url"][0].code == code
    assert WebhookEndpoint.objects.count() == 0


def test_public_addresses_pass():
    import ipaddress

    for address in ("93.184.215.14", "2606:4700::1111", "::ffff:93.184.215.14"):
        assert address_refusal(ipaddress.ip_address(address)) is None


def test_loopback_is_allowed_only_by_the_setting(settings):
    import ipaddress

    assert address_refusal(ipaddress.ip_address("127.0.0.1")) is None
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    assert address_refusal(ipaddress.ip_address("127.0.0.1")) == "loopback"
    assert address_refusal(ipaddress.ip_address("::ffff:127.0.0.1")) == "loopback"
    # The setting lets loopback through, nothing else.
    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    assert address_refusal(ipaddress.ip_address("169.254.169.254")) == "link-local"
    assert address_refusal(ipaddress.ip_address("10.0.0.5")) == "private"


@pytest.mark.parametrize("address", INTERNAL)
def test_a_name_that_turns_inside_after_saving_is_refused_at_send(root, dns, settings, monkeypatch, address):
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    dns["rebind.example"] = ["93.184.215.14"]
    register(root, "https://rebind.example/in")
    (delivery_id,) = deliveries_queue(event_type="ticket.created", data={"reference": "X", "kind": "dpa"}, now=T0)

    def no_request(*args, **kwargs):
        raise AssertionError("no request may be made")

    monkeypatch.setattr(delivery_module, "post", no_request)
    dns["rebind.example"] = [address]
    assert delivery_send_one(delivery_id=delivery_id, now=T0) == "retry"
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    label = {"169.254.169.254": "link-local", "10.0.0.5": "private"}.get(address, "loopback")
    assert attempt.error.startswith(f"refused: The host rebind.example resolves to a {label} address (")
    assert WebhookDelivery.objects.get().status == "queued"


def test_the_request_goes_to_the_checked_address_with_the_name_as_host(root, dns, receiver):
    # The name resolves once (to the receiver on loopback, which the test suite
    # allows); the connection goes to that address, the Host header names the name.
    dns["receiver.example"] = ["127.0.0.1"]
    register(root, f"http://receiver.example:{receiver.port}/in")
    (delivery_id,) = deliveries_queue(event_type="ticket.created", data={"reference": "X", "kind": "dpa"}, now=T0)
    assert delivery_send_one(delivery_id=delivery_id, now=T0) == "delivered"
    (request,) = receiver.requests
    assert request.headers["Host"] == f"receiver.example:{receiver.port}"
