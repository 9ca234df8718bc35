"""Rate limits per client address and per email address: 429, and nothing made."""

import json
import os
import socket
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.test import Client

from core.ratelimits import EMAIL_GROUP, IP_GROUP, window_seconds
from requests_app.models import OutboxMail, Ticket

from .helpers import DPA_ANSWERS, DSR_ANSWERS, fresh_rate_limits, post_form  # noqa: F401

pytestmark = pytest.mark.django_db

DPA_URL = "/requests/new/dpa/"
ACCESS_URL = "/requests/new/data-subject/access/"


def dpa_from(n: int) -> dict:
    return {**DPA_ANSWERS, "account_email": f"acct{n}@example.com", "requester_email": f"req{n}@example.com"}


def test_per_ip_limit_returns_429_and_creates_nothing(client, settings, ratelimit_wait):
    settings.REQUEST_RATE_PER_IP = "2/h"
    settings.REQUEST_RATE_PER_EMAIL = "100/h"
    assert post_form(client, DPA_URL, dpa_from(1)).status_code == 302
    assert post_form(client, DPA_URL, dpa_from(2)).status_code == 302
    mails_before = OutboxMail.objects.count()

    response = post_form(client, DPA_URL, dpa_from(3))
    html = response.content.decode()
    assert response.status_code == 429
    assert response["Retry-After"] == str(ratelimit_wait(IP_GROUP, "127.0.0.1", "2/h"))
    assert "Too many requests: we have received several from your network" in html
    assert "Nothing was submitted." in html
    assert 'value="req3@example.com"' in html  # input kept, e.g. to send by email instead
    assert Ticket.objects.count() == 2
    assert OutboxMail.objects.count() == mails_before

    # Another address is not affected.
    assert post_form(Client(REMOTE_ADDR="10.0.0.9"), DPA_URL, dpa_from(4)).status_code == 302
    assert Ticket.objects.count() == 3


def test_per_email_limit_counts_plus_tag_variants_as_one_inbox(settings, ratelimit_wait):
    settings.REQUEST_RATE_PER_IP = "100/h"
    settings.REQUEST_RATE_PER_EMAIL = "2/h"
    for n, variant in enumerate(["victim+1@example.org", "Victim+2@Example.org"]):
        answers = {**DSR_ANSWERS, "requester_email": variant}
        assert post_form(Client(REMOTE_ADDR=f"10.0.1.{n}"), ACCESS_URL, answers).status_code == 302

    answers = {**DSR_ANSWERS, "requester_email": "victim@example.org"}
    response = post_form(Client(REMOTE_ADDR="10.0.1.9"), ACCESS_URL, answers)

    assert response.status_code == 429
    assert response["Retry-After"] == str(ratelimit_wait(EMAIL_GROUP, "victim@example.org", "2/h"))
    assert Ticket.objects.count() == 2


def test_per_ip_limit_groups_ipv6_clients_by_64(settings, ratelimit_wait):
    settings.REQUEST_RATE_PER_IP = "2/h"
    settings.REQUEST_RATE_PER_EMAIL = "100/h"
    for n, address in enumerate(["2001:db8:5:5::1", "2001:db8:5:5::2"], start=1):
        assert post_form(Client(REMOTE_ADDR=address), DPA_URL, dpa_from(n)).status_code == 302

    response = post_form(Client(REMOTE_ADDR="2001:db8:5:5:1:2:3:4"), DPA_URL, dpa_from(3))
    other_net = post_form(Client(REMOTE_ADDR="2001:db8:5:6::1"), DPA_URL, dpa_from(4))

    assert (response.status_code, other_net.status_code) == (429, 302)
    assert response["Retry-After"] == str(ratelimit_wait(IP_GROUP, "2001:db8:5:5::/64", "2/h"))
    # The ticket keeps the full address the client came from.
    assert sorted(str(ip) for ip in Ticket.objects.values_list("submitted_ip", flat=True)) == [
        "2001:db8:5:5::1",
        "2001:db8:5:5::2",
        "2001:db8:5:6::1",
    ]


def test_per_email_limit_applies_across_addresses(settings, ratelimit_wait):
    settings.REQUEST_RATE_PER_IP = "100/h"
    settings.REQUEST_RATE_PER_EMAIL = "1/h"
    answers = {**DSR_ANSWERS, "requester_email": "Target@Example.org"}
    assert post_form(Client(REMOTE_ADDR="10.0.0.1"), ACCESS_URL, answers).status_code == 302
    # Same address, other case, other network: still the same person's inbox.
    again = {**answers, "requester_email": "target@example.org"}
    response = post_form(Client(REMOTE_ADDR="10.0.0.2"), ACCESS_URL, again)
    assert response.status_code == 429
    assert response["Retry-After"] == str(ratelimit_wait(EMAIL_GROUP, "target@example.org", "1/h"))
    assert Ticket.objects.count() == 1


def test_account_email_counts_too(settings):
    """The verification mail goes to the account's address: it cannot be flooded either."""
    settings.REQUEST_RATE_PER_IP = "100/h"
    settings.REQUEST_RATE_PER_EMAIL = "1/h"
    first = {**DSR_ANSWERS, "requester_email": "a@example.org", "account_email": "victim@example.org"}
    second = {**DSR_ANSWERS, "requester_email": "b@example.org", "account_email": "victim@example.org"}
    assert post_form(Client(REMOTE_ADDR="10.0.0.1"), ACCESS_URL, first).status_code == 302
    assert post_form(Client(REMOTE_ADDR="10.0.0.2"), ACCESS_URL, second).status_code == 429
    assert Ticket.objects.count() == 1


def test_retried_post_does_not_count(client, settings):
    settings.REQUEST_RATE_PER_IP = "1/h"
    token = "r" * 43
    for _ in range(3):
        assert post_form(client, DPA_URL, DPA_ANSWERS, token=token).status_code == 302
    assert Ticket.objects.count() == 1


def test_invalid_forms_do_not_count(client, settings):
    settings.REQUEST_RATE_PER_IP = "1/h"
    for _ in range(3):
        assert post_form(client, DPA_URL, {**DPA_ANSWERS, "requester_email": "bad"}).status_code == 400
    assert post_form(client, DPA_URL, DPA_ANSWERS).status_code == 302


def test_client_behind_trusted_proxy_is_counted_by_forwarded_address(settings):
    settings.REQUEST_RATE_PER_IP = "1/h"
    settings.REQUEST_RATE_PER_EMAIL = "100/h"
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.1.1.1"
    # A spoofed left-most entry does not help: the proxy's own entry is used.
    first = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    second = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="7.7.7.7, 203.0.113.5")
    other = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.77")
    assert post_form(first, DPA_URL, dpa_from(1)).status_code == 302
    assert post_form(second, DPA_URL, dpa_from(2)).status_code == 429
    assert post_form(other, DPA_URL, dpa_from(3)).status_code == 302
    assert sorted(Ticket.objects.values_list("submitted_ip", flat=True), key=str) == ["203.0.113.5", "203.0.113.77"]


def _silenced_checks(**env: str) -> list[str]:
    """SILENCED_SYSTEM_CHECKS as the settings module computes it under `env`."""
    code = "import json, trustcenter.settings as s; print(json.dumps(s.SILENCED_SYSTEM_CHECKS))"
    clean = {k: v for k, v in os.environ.items() if k not in {"TRUSTCENTER_ENV", "CACHE_URL", "DEBUG"}}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_ratelimit_cache_checks_are_silenced_in_development_only():
    assert _silenced_checks(TRUSTCENTER_ENV="development") == ["django_ratelimit.E003", "django_ratelimit.W001"]
    production = {
        "TRUSTCENTER_ENV": "production",
        "SECRET_KEY": "p" * 30 + "q" * 30 + "rstuvw",
        "ALLOWED_HOSTS": "trust.example.com",
    }
    # Production on locmem: django-ratelimit's error stays loud.
    assert _silenced_checks(**production, CACHE_URL="locmemcache://") == []
    # Production on Django's Redis cache: only the "not on our tested list" warning.
    assert _silenced_checks(**production, CACHE_URL="redis://127.0.0.1:6379/1") == ["django_ratelimit.W001"]


def test_checks_flag_locmem_for_rate_limits(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    ids = {m.id for m in run_checks(tags=["caches"]) if m.id.startswith("django_ratelimit")}
    assert ids == {"django_ratelimit.E003", "django_ratelimit.W001"}


def _redis_reachable(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _redis_reachable(), reason="no Redis on 127.0.0.1:6379")
def test_limits_hold_on_a_shared_redis_cache(client, settings):
    """Production counts in Redis through Django's own RedisCache backend."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/1",
            "KEY_PREFIX": f"tc-test-{uuid.uuid4().hex}",  # the server may be shared: touch only our keys
        }
    }
    settings.REQUEST_RATE_PER_IP = "2/h"
    settings.REQUEST_RATE_PER_EMAIL = "100/h"
    assert [post_form(client, DPA_URL, dpa_from(n)).status_code for n in range(3)] == [302, 302, 429]
    assert Ticket.objects.count() == 2


@pytest.mark.parametrize(("rate", "seconds"), [("5/h", 3600), ("3/m", 60), ("10/15m", 900), ("2/d", 86400), ("7/s", 1)])
def test_window_seconds_reads_the_rate(rate, seconds):
    assert window_seconds(rate) == seconds


def test_a_malformed_rate_is_refused():
    with pytest.raises(ValueError, match="Not a rate of the form count/period: '5 per hour'"):
        window_seconds("5 per hour")
