"""Mail outbox: every mail is a row written in the transaction of its cause.

`outbox_queue` renders the mail from templates/emails/ and asks the task
worker to send it once the transaction commits. `outbox_send_one` sends one
mail under a row lock and marks it sent in the same transaction, so a mail is
sent once even when several workers drain the outbox. A failed send is retried
with exponential backoff; the `send_queued_mail` command drains what is due.

Logs name mail ids, templates and ticket ids only, never addresses or names.
"""

import datetime as dt
import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from core.text import single_line

from . import tokens
from .enums import MailStatus
from .models import OutboxMail, Ticket, VerificationToken

logger = logging.getLogger(__name__)

# Placeholders for private links; filled in at send time (see tokens.py).
STATUS_URL = "[[status_url]]"
VERIFY_URL = "[[verify_url]]"


def outbox_queue(
    *,
    template: str,
    to: str,
    subject: str,
    context: dict[str, Any] | None = None,
    ticket: Ticket | None = None,
    verification: VerificationToken | None = None,
    headers: dict[str, str] | None = None,
    links: dict[str, dict[str, str]] | None = None,
) -> OutboxMail:
    """Write one mail to the outbox. Side effects: an OutboxMail row; after
    commit, a `send_outbox_mail` task is enqueued for it.

    `headers` are sent with the mail. `links` name private links of other apps
    by placeholder (see `link_placeholder`); the placeholders in the body and
    headers are replaced by working links only when the mail is sent."""
    now = timezone.now()
    ctx = {
        "ticket": ticket,
        "site_url": settings.SITE_URL,
        "status_url": STATUS_URL,
        "verify_url": VERIFY_URL,
        **(context or {}),
    }
    mail = OutboxMail.objects.create(
        ticket=ticket,
        verification=verification,
        template=template,
        # Header values are one line by construction, whatever the content held.
        to=single_line(to),
        subject=" ".join(single_line(subject).split())[:250],
        body_text=render_to_string(f"emails/{template}.txt", ctx),
        body_html=render_to_string(f"emails/{template}.html", ctx),
        headers=headers or {},
        links=links or {},
        next_attempt_at=now,
        created_at=now,
    )
    transaction.on_commit(partial(enqueue_send, mail.pk))
    return mail


def enqueue_send(mail_id: int, run_after: dt.datetime | None = None) -> None:
    """Hand a mail to the task worker. If that fails the mail stays queued and
    `send_queued_mail` picks it up, so the error is only logged."""
    from .tasks import send_outbox_mail

    try:
        task = send_outbox_mail.using(run_after=run_after) if run_after else send_outbox_mail
        task.enqueue(mail_id)
    except Exception:
        logger.exception("Could not enqueue sending of outbox mail id=%s; it stays queued", mail_id)


def retry_delay(attempts: int) -> dt.timedelta:
    """Backoff after the `attempts`-th failed try: base, 2x base, 4x base ..., capped."""
    seconds = settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.OUTBOX_RETRY_MAX_SECONDS))


def link_placeholder(*, name: str, purpose: str, nonce: str, token_hash: str, url: str) -> dict[str, dict[str, str]]:
    """A `links` entry for `outbox_queue`: "[[name]]" becomes `url` with "{token}"
    replaced by the token that `tokens.make_token(purpose, nonce)` made, which
    must hash to `token_hash`. The raw token is never stored in the outbox."""
    return {f"[[{name}]]": {"purpose": purpose, "nonce": nonce, "hash": token_hash, "url": url}}


def _fill_links(text: str, mail: OutboxMail) -> str:
    for placeholder, link in (mail.links or {}).items():
        if placeholder in text:
            raw = tokens.recover_token(link["purpose"], link["nonce"], link["hash"])
            text = text.replace(placeholder, link["url"].replace("{token}", raw))
    if STATUS_URL in text and mail.ticket is not None:
        ticket = mail.ticket
        raw = tokens.recover_token(tokens.STATUS, ticket.status_link_nonce, ticket.status_token_hash)
        text = text.replace(STATUS_URL, tokens.status_url(raw))
    if VERIFY_URL in text and mail.verification is not None:
        vt = mail.verification
        raw = tokens.recover_token(tokens.VERIFY, vt.nonce, vt.token_hash)
        text = text.replace(VERIFY_URL, tokens.verify_url(raw))
    return text


def _describe_error(exc: Exception) -> str:
    # SMTP errors can carry recipient addresses in their text: keep the class
    # and the SMTP code only.
    code = getattr(exc, "smtp_code", None)
    return f"{type(exc).__name__}{f' {code}' if code else ''}"[:300]


def outbox_send_one(*, mail_id: int, now: dt.datetime | None = None) -> str:
    """Try to send one queued mail that is due.

    Returns "sent", "retry" (failed, will be tried again at next_attempt_at),
    "failed" (gave up after OUTBOX_MAX_ATTEMPTS), "not_due", or "skipped"
    (not queued any more, or locked by another worker).
    """
    now = now or timezone.now()
    with transaction.atomic():
        mail = (
            OutboxMail.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("ticket", "verification")
            .filter(pk=mail_id, status=MailStatus.QUEUED)
            .first()
        )
        if mail is None:
            return "skipped"
        if mail.next_attempt_at > now:
            return "not_due"
        mail.attempts += 1
        try:
            message = EmailMultiAlternatives(
                subject=mail.subject,
                body=_fill_links(mail.body_text, mail),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[mail.to],
                headers={name: _fill_links(value, mail) for name, value in (mail.headers or {}).items()},
                connection=get_connection(),
            )
            if mail.body_html:
                message.attach_alternative(_fill_links(mail.body_html, mail), "text/html")
            message.send()
        except Exception as exc:
            # Whatever went wrong (SMTP, network, a bad header, a rotated key),
            # this mail is retried later and the other mails still go out.
            mail.last_error = _describe_error(exc)
            if mail.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                mail.status = MailStatus.FAILED
                outcome = "failed"
                logger.error(
                    "Outbox mail id=%s failed for good after %s attempts: %s", mail.pk, mail.attempts, mail.last_error
                )
            else:
                mail.next_attempt_at = now + retry_delay(mail.attempts)
                outcome = "retry"
                logger.warning(
                    "Outbox mail id=%s attempt %s failed (%s); next try at %s",
                    mail.pk,
                    mail.attempts,
                    mail.last_error,
                    mail.next_attempt_at.isoformat(),
                )
        else:
            mail.status = MailStatus.SENT
            mail.sent_at = now
            mail.last_error = ""
            outcome = "sent"
            logger.info("Outbox mail id=%s (%s) sent", mail.pk, mail.template)
        mail.save(update_fields=["attempts", "status", "sent_at", "last_error", "next_attempt_at"])
    return outcome


def outbox_send_due(*, now: dt.datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Send every queued mail that is due (at most `limit`). Returns counts per outcome."""
    now = now or timezone.now()
    ids = list(
        OutboxMail.objects.filter(status=MailStatus.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "not_due": 0}
    for mail_id in ids:
        counts[outbox_send_one(mail_id=mail_id, now=now)] += 1
    return counts
