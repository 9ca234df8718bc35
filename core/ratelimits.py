"""The client address, and rate limits on public submissions per address and per email.

`client_ip` is the address sign-in throttling, intake and download logs all use
(TRUSTED_PROXY_COUNT aware).

Counters live in the shared cache (`CACHE_URL`) through django-ratelimit, so every
app server sees the same counts. django-ratelimit hashes each key before it
reaches the cache: no address is stored in clear there.

Counters group what one sender controls: an IPv6 client by its /64 (the
smallest prefix a network hands one subscriber, who can use any address in
it), an IPv4 client by its address, and an email by the mailbox it reaches
(`core.text.mail_identity`: case and plus-tags do not make another counter).
`client_ip` itself keeps the full address, for the IP columns.

A limit that refuses a request notes on it how long until its window frees;
`trustcenter.middleware.RetryAfterMiddleware` sends that as `Retry-After`.
"""

import ipaddress
import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from .text import mail_identity


def _address(text: str) -> str:
    """`text` as an IP address in canonical form, or "" when it is none.

    Forwarded headers can be forged or garbled, and the address ends up in IP
    columns (tickets, NDA acceptances, sign-in records) that refuse anything else.
    """
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return ""
    if getattr(address, "scope_id", None):  # "fe80::1%eth0": no IP column takes a zone
        return ""
    return str(address)


def client_ip(request: HttpRequest) -> str:
    """The client address: the peer, or the entry the trusted proxies appended.

    A forwarded entry that is not an address falls back to the peer (the proxy)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        # Each trusted proxy appends the address it received the request from;
        # entries further left were written by the client and can be forged.
        if len(hops) >= proxies:
            address = _address(hops[-proxies])
            if address:
                return address
    return _address(request.META.get("REMOTE_ADDR", ""))


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


# The prefix one IPv6 subscriber holds; every address in it counts as one client.
IPV6_GROUP_PREFIX = 64


def address_group(address: str) -> str:
    """What a rate limit counts `address` under: an IPv4 address as itself, an
    IPv6 address as its /64 network ("2001:db8:1:2::/64"), an IPv4-mapped IPv6
    address as the IPv4 address; "" for anything else."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/{IPV6_GROUP_PREFIX}", strict=False))
    return str(ip)


def ip_key(group: str, request: HttpRequest) -> str:
    """A django-ratelimit key function: the client's address group (see `address_group`)."""
    return address_group(client_ip(request))


def email_key(email: str) -> Callable[[str, HttpRequest], str]:
    """A django-ratelimit key function that counts under the mailbox `email` reaches."""
    return _fixed_key(mail_identity(email))


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
    limited = count_against(request, group=IP_GROUP, key=ip_key, rate=settings.REQUEST_RATE_PER_IP)
    # Two fields of one form holding variants of one mailbox count once.
    for mailbox in dict.fromkeys(mail_identity(email) for email in emails):
        limited |= count_against(
            request, group=EMAIL_GROUP, key=email_key(mailbox), rate=settings.REQUEST_RATE_PER_EMAIL
        )
    return limited


def reply_is_limited(request: HttpRequest) -> bool:
    """Count one reply from a status page against the client's address; True when over.
    Replies have their own counter so that answering staff does not use up intake."""
    return count_against(request, group=REPLY_GROUP, key=ip_key, rate=settings.REQUEST_RATE_PER_IP)
