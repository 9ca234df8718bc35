"""Shared builders for the subscriptions tests."""

import re

from django.core import mail

from core.outbox import outbox_send_due
from subscriptions import services
from subscriptions.models import Subscriber


def subscribe(
    email: str, scope: str = "all", *, confirm: bool = True, update_categories: list[str] | None = None
) -> Subscriber:
    """A subscriber made through the services, confirmed with the link actually mailed."""
    subscriber = services.subscriber_request(email=email, scope=scope, update_categories=update_categories)
    if confirm:
        services.subscriber_confirm(raw_token=mailed_token("confirm", to=email))
    subscriber.refresh_from_db()
    return subscriber


def mailed_token(kind: str, *, to: str) -> str:
    """The raw token of the last /subscribe/<kind>/ link mailed to `to`."""
    outbox_send_due()
    for message in reversed(mail.outbox):
        if message.to == [to]:
            found = re.search(rf"/subscribe/{kind}/([A-Za-z0-9_-]+)/", str(message.body))
            if found:
                return found.group(1)
    raise AssertionError(f"no {kind} link was mailed to {to}")
