"""The worker sends queued mail in batches over one mail connection, each mail recorded once."""

import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.enums import MailStatus
from core.models import OutboxMail
from core.outbox import outbox_queue, outbox_send_batch, outbox_send_due, send_outbox_mail

pytestmark = pytest.mark.django_db

REFUSED = "refused@example.com"


class CountingBackend(LocmemBackend):
    """Locmem, counting connections; refuses mail to REFUSED as a server would."""

    opened = 0
    closed = 0

    def open(self):
        type(self).opened += 1
        return True

    def close(self):
        type(self).closed += 1

    def send_messages(self, messages):
        if any(REFUSED in m.to for m in messages):
            raise smtplib.SMTPRecipientsRefused({REFUSED: (550, b"no such user")})
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def counting(settings):
    settings.EMAIL_BACKEND = f"{__name__}.CountingBackend"
    settings.OUTBOX_BATCH_SIZE = 100
    CountingBackend.opened = CountingBackend.closed = 0
    return CountingBackend


def queue(to: str) -> OutboxMail:
    return outbox_queue(template="subscription_confirm", to=to, subject="Please confirm")


def rows() -> list[tuple[str, str, int, str]]:
    return list(OutboxMail.objects.order_by("id").values_list("to", "status", "attempts", "last_error"))


def outbox_updates(queries) -> int:
    return sum(1 for q in queries if q["sql"].startswith(f'UPDATE "{OutboxMail._meta.db_table}"'))


def test_a_batch_sends_n_mails_over_one_connection_and_records_each_once(counting):
    mails = [queue(f"r{i}@example.com") for i in range(7)]
    with CaptureQueriesContext(connection) as queries:
        outcomes = outbox_send_batch(mail_ids=[m.pk for m in mails])
    assert outcomes == {m.pk: "sent" for m in mails}
    assert (counting.opened, counting.closed) == (1, 1)
    assert [m.to for m in mail.outbox] == [[f"r{i}@example.com"] for i in range(7)]
    assert rows() == [(f"r{i}@example.com", MailStatus.SENT, 1, "") for i in range(7)]
    assert outbox_updates(queries.captured_queries) == 14  # each mail claimed, then recorded


def test_a_failing_mail_fails_alone_and_the_batch_goes_on_over_a_new_connection(counting):
    mails = [queue(to) for to in ("a@example.com", REFUSED, "b@example.com", "c@example.com")]
    start = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        counts = outbox_send_due(now=start)
    assert counts == {"sent": 3, "retry": 1, "failed": 0, "skipped": 0, "not_due": 0}
    # The connection is dropped after the refusal and a new one serves the rest.
    assert (counting.opened, counting.closed) == (2, 2)
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com", "c@example.com"]
    assert rows() == [
        ("a@example.com", MailStatus.SENT, 1, ""),
        (REFUSED, MailStatus.QUEUED, 1, "SMTPRecipientsRefused"),
        ("b@example.com", MailStatus.SENT, 1, ""),
        ("c@example.com", MailStatus.SENT, 1, ""),
    ]
    # Expired claims released (none here), then each mail claimed and recorded.
    assert outbox_updates(queries.captured_queries) == 1 + 8
    assert OutboxMail.objects.get(pk=mails[1].pk).next_attempt_at > start


def test_a_mail_already_sent_or_withheld_is_skipped_without_a_connection(counting):
    sent = queue("a@example.com")
    outbox_send_batch(mail_ids=[sent.pk])
    OutboxMail.objects.filter(pk=sent.pk).update(status=MailStatus.SENT)
    counting.opened = counting.closed = 0
    withheld = queue("b@example.com")
    OutboxMail.objects.filter(pk=withheld.pk).update(status=MailStatus.WITHHELD)
    assert outbox_send_batch(mail_ids=[sent.pk, withheld.pk]) == {sent.pk: "skipped", withheld.pk: "skipped"}
    assert (counting.opened, counting.closed, len(mail.outbox)) == (0, 0, 1)


def test_the_send_task_takes_due_mails_along_up_to_the_batch_size(counting, settings):
    settings.OUTBOX_BATCH_SIZE = 3
    mails = [queue(f"r{i}@example.com") for i in range(5)]
    assert send_outbox_mail.call(mails[4].pk) == "sent"
    # Its own mail first, then the two oldest due ones; one connection.
    assert [m.to[0] for m in mail.outbox] == ["r4@example.com", "r0@example.com", "r1@example.com"]
    assert (counting.opened, counting.closed) == (1, 1)
    # The task of a mail taken along finds it sent, and takes the rest along.
    assert send_outbox_mail.call(mails[0].pk) == "skipped"
    assert [m.to[0] for m in mail.outbox][3:] == ["r2@example.com", "r3@example.com"]
    assert send_outbox_mail.call(mails[2].pk) == "skipped"
    assert (len(mail.outbox), counting.opened, counting.closed) == (5, 2, 2)
    assert [status for _, status, _, _ in rows()] == [MailStatus.SENT] * 5
