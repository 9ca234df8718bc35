"""What a rate limit counts a client or an email under: IPv6 by /64, email by mailbox."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from core.ratelimits import address_group, client_ip, reply_is_limited, submission_is_limited


@pytest.fixture(autouse=True)
def fresh_counters(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize(
    ("address", "group"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("203.0.113.10", "203.0.113.10"),  # IPv4 stays per address
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:0DB8:0001:0002:0000:0000:0000:0001", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::1", "::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),  # IPv4-mapped: the IPv4 client
        ("", ""),
        ("not-an-ip", ""),
    ],
)
def test_address_group(address, group):
    assert address_group(address) == group


def request_from(address: str):
    return RequestFactory().post("/requests/new/dpa/", REMOTE_ADDR=address)


def test_client_ip_keeps_the_full_ipv6_address():
    assert client_ip(request_from("2001:db8:1:2::abcd")) == "2001:db8:1:2::abcd"


def test_two_addresses_in_one_ipv6_64_share_a_counter(settings):
    settings.REQUEST_RATE_PER_IP = "2/h"
    settings.REQUEST_RATE_PER_EMAIL = "100/h"
    assert submission_is_limited(request_from("2001:db8:1:2::1"), emails=[]) is False
    assert submission_is_limited(request_from("2001:db8:1:2::dead:beef"), emails=[]) is False
    assert submission_is_limited(request_from("2001:db8:1:2:8000::9"), emails=[]) is True
    # Another /64 and an IPv4 client each have their own counter.
    assert submission_is_limited(request_from("2001:db8:1:3::1"), emails=[]) is False
    assert submission_is_limited(request_from("203.0.113.9"), emails=[]) is False


def test_ipv4_addresses_are_counted_apart(settings):
    settings.REQUEST_RATE_PER_IP = "1/h"
    settings.REQUEST_RATE_PER_EMAIL = "100/h"
    assert submission_is_limited(request_from("203.0.113.9"), emails=[]) is False
    assert submission_is_limited(request_from("203.0.113.10"), emails=[]) is False
    assert submission_is_limited(request_from("203.0.113.9"), emails=[]) is True


def test_replies_group_ipv6_by_64_too(settings):
    settings.REQUEST_RATE_PER_IP = "1/h"
    assert reply_is_limited(request_from("2001:db8:1:2::1")) is False
    assert reply_is_limited(request_from("2001:db8:1:2::2")) is True


def test_plus_tag_and_case_variants_share_an_email_counter(settings):
    settings.REQUEST_RATE_PER_IP = "100/h"
    settings.REQUEST_RATE_PER_EMAIL = "2/h"
    assert submission_is_limited(request_from("203.0.113.1"), emails=["victim@example.com"]) is False
    assert submission_is_limited(request_from("203.0.113.2"), emails=["Victim+a@Example.com"]) is False
    assert submission_is_limited(request_from("203.0.113.3"), emails=["victim+b@example.com"]) is True
    assert submission_is_limited(request_from("203.0.113.4"), emails=["other@example.com"]) is False


def test_variants_of_one_mailbox_in_one_submission_count_once(settings):
    settings.REQUEST_RATE_PER_IP = "100/h"
    settings.REQUEST_RATE_PER_EMAIL = "1/h"
    request = request_from("203.0.113.1")
    assert submission_is_limited(request, emails=["victim@example.com", "victim+acct@example.com"]) is False
