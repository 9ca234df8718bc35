"""Mail outbox: every mail is a row written in the transaction of its cause.

`outbox_queue` renders the mail from templates/emails/ and asks the task
worker to send it once the transaction commits (`send_outbox_mail`).
`outbox_send_batch` sends mails over one SMTP connection. Each mail is first
claimed (`sending`, committed), then handed to SMTP outside any transaction,
then its outcome recorded: several workers never send the same mail, a
database restart after the handoff does not put a sent mail back in the queue
(the worker records it once the database is back), and one failing mail fails
alone. Only a worker that dies between handoff and record leaves a claim that
expires (`OUTBOX_CLAIM_SECONDS`) and is sent again with the same Message-ID.
The send task of a mail takes the other due mails along (`OUTBOX_BATCH_SIZE`).
A failed send is retried with exponential backoff; the `send_queued_mail` command (and
housekeeping) drains what is due.

Mail a public form causes (`from_public_form=True`: acknowledgments,
verification and confirmation links, document access) counts against a daily
cap per mailbox (`public_mail_allowed`); over it the row is written as
`withheld` and never sent, so whoever fills in a victim's address in forms
cannot flood that inbox, and the form's answer does not tell.

Private links never reach the outbox in clear: the caller names them by
placeholder (`link_placeholder`) and they are rebuilt from their stored hash
when the mail is sent. Logs name mail ids and templates only, never
addresses or names.
"""

import datetime as dt
import logging
import time
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import models, transaction
from django.db.models import Case, F, Value, When
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_tasks import task
from django_tasks.base import Task

from . import tokens
from .database import DATABASE_UNAVAILABLE, close_all_connections
from .enums import MailStatus
from .models import OutboxMail, PublicMailCount
from .text import mail_identity, single_line

logger = logging.getLogger(__name__)

Links = dict[str, dict[str, str]]


# Stands in for the token while a link's URL is reversed; valid wherever a token is.
_TOKEN_SLOT = "token-slot-0000000000000000"  # noqa: S105 (a stand-in, not a secret)


def absolute_url(viewname: str, **kwargs: Any) -> str:
    """The URL of a view as mail shows it: SITE_URL followed by the reversed path."""
    return settings.SITE_URL + reverse(viewname, kwargs=kwargs or None)


def token_url_template(viewname: str, **kwargs: Any) -> str:
    """An absolute URL of a view taking `token`, with "{token}" where the token
    goes: the `url` of a `link_placeholder`."""
    return absolute_url(viewname, token=_TOKEN_SLOT, **kwargs).replace(_TOKEN_SLOT, "{token}")


def link_placeholder(*, name: str, purpose: str, nonce: str, token_hash: str, url: str) -> Links:
    """A `links` entry for `outbox_queue`: "[[name]]" becomes `url` with "{token}"
    replaced by the token that `tokens.make_token(purpose, nonce)` made, which
    must hash to `token_hash`. The raw token is never stored in the outbox."""
    return {f"[[{name}]]": {"purpose": purpose, "nonce": nonce, "hash": token_hash, "url": url}}


_MAILBOX_SALT = "core.outbox.public-mail"


def mailbox_hash(address: str) -> str:
    """The keyed hash `PublicMailCount` stores for the mailbox `address` reaches."""
    return salted_hmac(_MAILBOX_SALT, mail_identity(address), algorithm="sha256").hexdigest()


def public_mail_allowed(address: str) -> bool:
    """Count one public-form mail to the mailbox `address` reaches today; False
    when the mailbox already had PUBLIC_MAIL_PER_ADDRESS_PER_DAY of them.

    Side effects: creates or increments today's PublicMailCount row, in the
    caller's transaction, so a rolled-back submission counts nothing. The
    increment is one conditional UPDATE: concurrent callers wait on the row
    lock and each sees the count the other left, so the cap holds exactly
    across processes and app servers."""
    key, day = mailbox_hash(address), timezone.localdate()
    PublicMailCount.objects.get_or_create(mailbox_hash=key, day=day)
    counted = PublicMailCount.objects.filter(
        mailbox_hash=key, day=day, count__lt=settings.PUBLIC_MAIL_PER_ADDRESS_PER_DAY
    ).update(count=F("count") + 1)
    return counted == 1


def public_mail_counts_purge(*, today: dt.date | None = None) -> int:
    """Delete the counts of days before `today` (local); returns how many rows went."""
    deleted, _ = PublicMailCount.objects.filter(day__lt=today or timezone.localdate()).delete()
    return deleted


def outbox_queue(
    *,
    template: str,
    to: str,
    subject: str,
    context: dict[str, Any] | None = None,
    about: models.Model | None = None,
    headers: dict[str, str] | None = None,
    links: Links | None = None,
    from_public_form: bool = False,
) -> OutboxMail:
    """Write one mail to the outbox. Side effects: an OutboxMail row; after
    commit, a `send_outbox_mail` task is enqueued for it.

    `about` is the record the mail concerns (found again through its
    GenericRelation). `headers` are sent with the mail. `links` name private
    links by placeholder (see `link_placeholder`); the placeholders in the body
    and headers are replaced by working links only when the mail is sent.

    `from_public_form`: an anonymous visitor caused this mail, to an address
    they typed. It counts against the recipient's daily cap
    (`public_mail_allowed`); over the cap the row is written `withheld` and no
    task is enqueued."""
    now = timezone.now()
    ctx = {"site_url": settings.SITE_URL, **(context or {})}
    withheld = from_public_form and not public_mail_allowed(to)
    mail = OutboxMail.objects.create(
        about_type=ContentType.objects.get_for_model(about) if about is not None else None,
        about_id=about.pk if about is not None else None,
        template=template,
        # Header values are one line by construction, whatever the content held.
        to=single_line(to),
        subject=" ".join(single_line(subject).split())[:250],
        body_text=render_to_string(f"emails/{template}.txt", ctx),
        body_html=render_to_string(f"emails/{template}.html", ctx),
        headers=headers or {},
        links=links or {},
        status=MailStatus.WITHHELD if withheld else MailStatus.QUEUED,
        next_attempt_at=now,
        created_at=now,
    )
    if withheld:
        logger.info("Outbox mail id=%s (%s) withheld: its address reached the daily cap", mail.pk, mail.template)
    else:
        transaction.on_commit(partial(enqueue_send, mail.pk))
    return mail


def enqueue_row_task(task: Task[[int], str], row_id: int, *, run_after: dt.datetime | None, what: str) -> None:
    """Hand the queued row `row_id` (`what` names it in the log) to the task
    worker's `task`, at `run_after` if given. If that fails the row stays
    queued and the periodic drain of its kind picks it up, so the error is
    only logged. The mail outbox and webhook deliveries both go this way."""
    try:
        runner = task.using(run_after=run_after) if run_after else task
        runner.enqueue(row_id)
    except Exception:
        logger.exception("Could not enqueue sending of %s id=%s; it stays queued", what, row_id)


def enqueue_send(mail_id: int, run_after: dt.datetime | None = None) -> None:
    """Hand a mail to the task worker (`send_queued_mail` drains what this misses)."""
    enqueue_row_task(send_outbox_mail, mail_id, run_after=run_after, what="outbox mail")


def retry_delay(attempts: int, *, base_seconds: int | None = None, max_seconds: int | None = None) -> dt.timedelta:
    """Backoff after the `attempts`-th failed try: base, 2x base, 4x base ..., capped.

    The base and the cap are the outbox's (OUTBOX_RETRY_BASE_SECONDS,
    OUTBOX_RETRY_MAX_SECONDS) unless given: webhook deliveries pass their own."""
    base = settings.OUTBOX_RETRY_BASE_SECONDS if base_seconds is None else base_seconds
    cap = settings.OUTBOX_RETRY_MAX_SECONDS if max_seconds is None else max_seconds
    seconds = base * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, cap))


def _fill_links(text: str, mail: OutboxMail) -> str:
    for placeholder, link in (mail.links or {}).items():
        if placeholder in text:
            raw = tokens.recover_token(link["purpose"], link["nonce"], link["hash"])
            text = text.replace(placeholder, link["url"].replace("{token}", raw))
    return text


def _describe_error(exc: Exception) -> str:
    # SMTP errors can carry recipient addresses in their text: keep the class
    # and the SMTP code only.
    code = getattr(exc, "smtp_code", None)
    return f"{type(exc).__name__}{f' {code}' if code else ''}"[:300]


class _SmtpConnection:
    """The mail connection of one batch: opened before its first mail, reused for
    the next ones, and dropped after a mail that failed (the server may have
    hung up), so that the next mail opens a new one."""

    def __init__(self) -> None:
        self.backend = get_connection()
        self.is_open = False

    def send(self, message: EmailMultiAlternatives) -> None:
        if not self.is_open:
            self.backend.open()
            self.is_open = True
        message.connection = self.backend
        message.send()

    def close(self) -> None:
        if not self.is_open:
            return
        self.is_open = False
        try:
            self.backend.close()
        except Exception as exc:
            # Mails already sent were recorded as sent; a failing QUIT changes nothing.
            logger.warning("Closing the mail connection failed: %s", _describe_error(exc))


# A claimed mail's worker records the outcome; if the database is away then,
# it keeps trying for this long (the claim lasts OUTBOX_CLAIM_SECONDS, longer).
def _record_patience() -> float:
    return settings.OUTBOX_CLAIM_SECONDS / 3


INTERRUPTED = "interrupted while sending; it may have been delivered"


def _claim(mail_id: int, now: dt.datetime) -> OutboxMail | str:
    """Take a queued, due mail for sending: `sending`, one more attempt, and
    until `now + OUTBOX_CLAIM_SECONDS` no one else's. Committed before the
    mail leaves, so that no other worker sends it while it is under way and
    no lost commit afterwards puts it back in the queue. Returns the mail, or
    the outcome ("skipped", "not_due") when it is not to be sent now."""
    with transaction.atomic():
        mail = (
            OutboxMail.objects.select_for_update(skip_locked=True).filter(pk=mail_id, status=MailStatus.QUEUED).first()
        )
        if mail is None:
            return "skipped"
        if mail.next_attempt_at > now:
            return "not_due"
        mail.attempts += 1
        mail.status = MailStatus.SENDING
        mail.next_attempt_at = now + dt.timedelta(seconds=settings.OUTBOX_CLAIM_SECONDS)
        mail.save(update_fields=["attempts", "status", "next_attempt_at"])
    return mail


def _record(mail: OutboxMail, fields: dict[str, Any]) -> None:
    """Record the outcome of a claimed mail. The mail has left (or failed) and
    only this process knows: while the database is unavailable, reconnect and
    try again (backoff up to 10 s) for `_record_patience()` seconds, after
    which the claim expires and the mail is sent again (see `outbox_release_stale`)."""
    deadline = time.monotonic() + _record_patience()
    wait = 0.5
    while True:
        try:
            with transaction.atomic():
                OutboxMail.objects.filter(pk=mail.pk, status=MailStatus.SENDING).update(**fields)
            return
        except DATABASE_UNAVAILABLE:
            if transaction.get_connection().in_atomic_block or time.monotonic() + wait > deadline:
                raise
            logger.warning("Recording outbox mail id=%s waits for the database", mail.pk)
            close_all_connections()
            time.sleep(wait)
            wait = min(wait * 2, 10.0)


def _message(mail: OutboxMail) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=_fill_links(mail.body_text, mail),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.to],
        headers={
            # The same id on every attempt: a mail sent again after an interrupted
            # attempt is recognisably the same mail to the recipient's system.
            "Message-ID": f"<outbox-{mail.pk}.{int(mail.created_at.timestamp())}@{_mail_domain()}>",
            **{name: _fill_links(value, mail) for name, value in (mail.headers or {}).items()},
        },
    )
    if mail.body_html:
        message.attach_alternative(_fill_links(mail.body_html, mail), "text/html")
    return message


def _mail_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def _send_one(mail_id: int, now: dt.datetime, smtp: _SmtpConnection) -> str:
    """Claim one queued, due mail, send it over `smtp` outside any transaction,
    and record the outcome (one UPDATE of its row)."""
    claimed = _claim(mail_id, now)
    if isinstance(claimed, str):
        return claimed
    mail = claimed
    try:
        smtp.send(_message(mail))
    except Exception as exc:
        # Whatever went wrong (SMTP, network, a bad header, a rotated key),
        # this mail is retried later and the other mails still go out.
        smtp.close()
        error = _describe_error(exc)
        if mail.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            _record(mail, {"status": MailStatus.FAILED, "last_error": error})
            logger.error("Outbox mail id=%s failed for good after %s attempts: %s", mail.pk, mail.attempts, error)
            return "failed"
        next_attempt_at = now + retry_delay(mail.attempts)
        _record(mail, {"status": MailStatus.QUEUED, "last_error": error, "next_attempt_at": next_attempt_at})
        logger.warning(
            "Outbox mail id=%s attempt %s failed (%s); next try at %s",
            mail.pk,
            mail.attempts,
            error,
            next_attempt_at.isoformat(),
        )
        return "retry"
    _record(mail, {"status": MailStatus.SENT, "sent_at": now, "last_error": ""})
    logger.info("Outbox mail id=%s (%s) sent", mail.pk, mail.template)
    return "sent"


def outbox_release_stale(now: dt.datetime | None = None) -> int:
    """Put back in the queue the mails whose claim expired: their worker died
    between taking and recording them. Whether they left is unknown; they are
    sent again (with the same Message-ID), as a lost mail would be worse. One
    whose personal data was purged meanwhile has no recipient any more: failed.
    One UPDATE; returns how many claims it ended."""
    released = OutboxMail.objects.filter(status=MailStatus.SENDING, next_attempt_at__lte=now or timezone.now()).update(
        status=Case(When(purged_at__isnull=True, then=Value(MailStatus.QUEUED)), default=Value(MailStatus.FAILED)),
        last_error=INTERRUPTED,
    )
    if released:
        logger.warning("%s outbox mail(s) whose sending was interrupted are queued again (failed if purged)", released)
    return released


def outbox_send_batch(*, mail_ids: list[int], now: dt.datetime | None = None) -> dict[int, str]:
    """Try to send each of `mail_ids` (queued and due) over one mail connection.

    Returns the outcome per id, as `outbox_send_one` names them. Each mail is
    locked, sent and recorded in a transaction of its own, so a mail is
    recorded once, a mail another worker holds is skipped, and a failing mail
    is retried later without failing the others. Side effects: at most one
    connection open at a time (a new one after a failed mail); mails sent.
    Without `now`, each mail is timed when it is sent."""
    smtp = _SmtpConnection()
    outcomes: dict[int, str] = {}
    try:
        for mail_id in mail_ids:
            outcomes[mail_id] = _send_one(mail_id, now or timezone.now(), smtp)
    finally:
        smtp.close()
    return outcomes


def outbox_send_one(*, mail_id: int, now: dt.datetime | None = None) -> str:
    """Try to send one queued mail that is due.

    Returns "sent", "retry" (failed, will be tried again at next_attempt_at),
    "failed" (gave up after OUTBOX_MAX_ATTEMPTS), "not_due", or "skipped"
    (not queued any more, or locked by another worker).
    """
    return outbox_send_batch(mail_ids=[mail_id], now=now)[mail_id]


def _due_ids(now: dt.datetime, limit: int, *, exclude: int | None = None) -> list[int]:
    due = OutboxMail.objects.filter(status=MailStatus.QUEUED, next_attempt_at__lte=now)
    if exclude is not None:
        due = due.exclude(pk=exclude)
    return list(due.order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit])


def outbox_send_due(*, now: dt.datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Send every queued mail that is due (at most `limit`) over one mail connection.
    Returns counts per outcome."""
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "not_due": 0}
    outbox_release_stale(now)
    for outcome in outbox_send_batch(mail_ids=_due_ids(now or timezone.now(), limit), now=now).values():
        counts[outcome] += 1
    return counts


@task()
def send_outbox_mail(mail_id: int) -> str:
    """Send one outbox mail, and with it, over the same connection, up to
    OUTBOX_BATCH_SIZE - 1 other mails that are due (oldest first): their own
    tasks then find them sent. After a failure of this mail, schedule its next
    try at its backoff time; the others' tasks schedule theirs."""
    others = _due_ids(timezone.now(), max(settings.OUTBOX_BATCH_SIZE - 1, 0), exclude=mail_id)
    outcome = outbox_send_batch(mail_ids=[mail_id, *others])[mail_id]
    if outcome in {"retry", "not_due"}:
        next_attempt_at = OutboxMail.objects.values_list("next_attempt_at", flat=True).get(pk=mail_id)
        enqueue_send(mail_id, run_after=next_attempt_at)
    return outcome
