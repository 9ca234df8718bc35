"""Rate limits on public submissions, per client address and per email address.

Counters live in the shared cache (`CACHE_URL`) through django-ratelimit, so every
app server sees the same counts. django-ratelimit hashes each key before it
reaches the cache: no address is stored in clear there.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited

# The client address as sign-in throttling sees it (TRUSTED_PROXY_COUNT aware).
from accounts.auth import client_ip

__all__ = ["client_ip", "reply_is_limited", "submission_is_limited"]

IP_GROUP = "requests_app.intake.ip"
EMAIL_GROUP = "requests_app.intake.email"
REPLY_GROUP = "requests_app.reply.ip"


def _ip_key(group: str, request: HttpRequest) -> str:
    return client_ip(request)


def _fixed_key(value: str) -> Callable[[str, HttpRequest], str]:
    """A django-ratelimit key function that counts under `value`."""

    def key(group: str, request: HttpRequest) -> str:
        return value

    return key


def submission_is_limited(request: HttpRequest, *, emails: list[str]) -> bool:
    """Count one submission against the client's address and each email; True when over.

    Every counter is incremented even when an earlier one is already over, so a
    sender cannot probe one limit while staying under the other.
    """
    limited = is_ratelimited(request, group=IP_GROUP, key=_ip_key, rate=settings.REQUEST_RATE_PER_IP, increment=True)
    for email in emails:
        limited |= is_ratelimited(
            request,
            group=EMAIL_GROUP,
            key=_fixed_key(email.lower()),
            rate=settings.REQUEST_RATE_PER_EMAIL,
            increment=True,
        )
    return limited


def reply_is_limited(request: HttpRequest) -> bool:
    """Count one reply from a status page against the client's address; True when over.
    Replies have their own counter so that answering staff does not use up intake."""
    return is_ratelimited(request, group=REPLY_GROUP, key=_ip_key, rate=settings.REQUEST_RATE_PER_IP, increment=True)
