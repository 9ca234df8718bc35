"""Mail about a ticket, through the shared outbox.

Every ticket mail is filed under its ticket (`ticket.mails`) and may use the
requester's private links: "[[status_url]]" and, with a verification token,
"[[verify_url]]". They are placeholders in the stored mail, rebuilt from the
stored token hashes only when the mail is sent (see `core.outbox`).
"""

from typing import Any

from core.models import OutboxMail
from core.outbox import Links, absolute_url, link_placeholder, outbox_queue, token_url_template

from .models import Ticket, VerificationToken

STATUS = "status"
VERIFY = "verify"
STATUS_URL = "[[status_url]]"
VERIFY_URL = "[[verify_url]]"


def status_url(raw_token: str) -> str:
    return absolute_url("requests_app:status", token=raw_token)


def ticket_links(ticket: Ticket, verification: VerificationToken | None = None) -> Links:
    """The private links a mail about `ticket` may carry, as outbox placeholders."""
    links = link_placeholder(
        name="status_url",
        purpose=STATUS,
        nonce=ticket.status_link_nonce,
        token_hash=ticket.status_token_hash,
        url=token_url_template("requests_app:status"),
    )
    if verification is not None:
        links |= link_placeholder(
            name="verify_url",
            purpose=VERIFY,
            nonce=verification.nonce,
            token_hash=verification.token_hash,
            url=token_url_template("requests_app:verify"),
        )
    return links


def ticket_mail_queue(
    *,
    ticket: Ticket,
    template: str,
    to: str,
    subject: str,
    context: dict[str, Any] | None = None,
    verification: VerificationToken | None = None,
    links: Links | None = None,
    from_public_form: bool = False,
) -> OutboxMail:
    """Queue one mail about `ticket` (see `core.outbox.outbox_queue` for side
    effects, and for `from_public_form`, the daily cap per address)."""
    return outbox_queue(
        template=template,
        to=to,
        subject=subject,
        about=ticket,
        links=ticket_links(ticket, verification) | (links or {}),
        context={"ticket": ticket, "status_url": STATUS_URL, "verify_url": VERIFY_URL, **(context or {})},
        from_public_form=from_public_form,
    )
