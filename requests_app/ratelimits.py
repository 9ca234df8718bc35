"""Rate limits on public submissions, per client address and per email address.

Counters live in the shared cache (`CACHE_URL`) through django-ratelimit, so every
app server sees the same counts. django-ratelimit hashes each key before it
reaches the cache: no address is stored in clear there.

A limit that refuses a request notes on it how long until its window frees;
`trustcenter.middleware.RetryAfterMiddleware` sends that as `Retry-After`.
"""

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

# The client address as sign-in throttling sees it (TRUSTED_PROXY_COUNT aware).
from accounts.auth import client_ip

__all__ = ["client_ip", "count_against", "reply_is_limited", "retry_after", "submission_is_limited", "window_seconds"]

IP_GROUP = "requests_app.intake.ip"
EMAIL_GROUP = "requests_app.intake.email"
REPLY_GROUP = "requests_app.reply.ip"


# django-ratelimit's "count/period" form: "5/h", "10/15m"; no unit means seconds.
_RATE = re.compile(r"^(\d+)/(\d*)([smhd])?$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The request attribute that carries the wait to RetryAfterMiddleware.
_RETRY_AFTER_ATTR = "rate_limit_retry_after"


def window_seconds(rate: str) -> int:
    """The length of a rate's window in seconds ("5/h": 3600, "10/15m": 900)."""
    match = _RATE.match(rate.strip())
    if match is None:
        raise ValueError(f"Not a rate of the form count/period: {rate!r}")
    return int(match.group(2) or 1) * _UNIT_SECONDS[match.group(3) or "s"]


def count_against(request: HttpRequest, *, group: str, key: Callable[[str, HttpRequest], str], rate: str) -> bool:
    """Count one use for `key` in `group`; True when that is over `rate`.

    When over, the request keeps the seconds until this window frees (the
    longest wait, when several limits refuse it), for the Retry-After header.
    """
    usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return False
    # time_left is negative when the cache could not count: then the whole window.
    wait = usage["time_left"] if usage["time_left"] > 0 else window_seconds(rate)
    setattr(request, _RETRY_AFTER_ATTR, max(wait, retry_after(request) or 0))
    return True


def retry_after(request: HttpRequest) -> int | None:
    """Seconds until the limit that refused this request frees; None when none did."""
    return getattr(request, _RETRY_AFTER_ATTR, None)


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
    limited = count_against(request, group=IP_GROUP, key=_ip_key, rate=settings.REQUEST_RATE_PER_IP)
    for email in emails:
        limited |= count_against(
            request, group=EMAIL_GROUP, key=_fixed_key(email.lower()), rate=settings.REQUEST_RATE_PER_EMAIL
        )
    return limited


def reply_is_limited(request: HttpRequest) -> bool:
    """Count one reply from a status page against the client's address; True when over.
    Replies have their own counter so that answering staff does not use up intake."""
    return count_against(request, group=REPLY_GROUP, key=_ip_key, rate=settings.REQUEST_RATE_PER_IP)
