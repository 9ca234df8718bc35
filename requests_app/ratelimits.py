"""Rate limits on public submissions, per client address and per email address.

Counters live in the shared cache (`CACHE_URL`) through django-ratelimit, so every
app server sees the same counts. django-ratelimit hashes each key before it
reaches the cache: no address is stored in clear there.
"""

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited

IP_GROUP = "requests_app.intake.ip"
EMAIL_GROUP = "requests_app.intake.email"
REPLY_GROUP = "requests_app.reply.ip"


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the address the last trusted proxy saw.

    With `TRUSTED_PROXY_COUNT` = N > 0 the app sits behind N reverse proxies that
    each append to X-Forwarded-For; entries left of those are client-supplied
    and cannot be trusted, so the N-th entry from the right is the client.
    """
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def _ip_key(group: str, request: HttpRequest) -> str:
    return client_ip(request)


def submission_is_limited(request: HttpRequest, *, emails: list[str]) -> bool:
    """Count one submission against the client's address and each email; True when over.

    Every counter is incremented even when an earlier one is already over, so a
    sender cannot probe one limit while staying under the other.
    """
    limited = is_ratelimited(
        request, group=IP_GROUP, key=_ip_key, rate=settings.REQUEST_RATE_PER_IP, increment=True
    )
    for email in emails:
        limited |= is_ratelimited(
            request,
            group=EMAIL_GROUP,
            key=lambda group, req, value=email.lower(): value,
            rate=settings.REQUEST_RATE_PER_EMAIL,
            increment=True,
        )
    return limited


def reply_is_limited(request: HttpRequest) -> bool:
    """Count one reply from a status page against the client's address; True when over.
    Replies have their own counter so that answering staff does not use up intake."""
    return is_ratelimited(
        request, group=REPLY_GROUP, key=_ip_key, rate=settings.REQUEST_RATE_PER_IP, increment=True
    )
