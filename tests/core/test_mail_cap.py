"""One mailbox receives at most PUBLIC_MAIL_PER_ADDRESS_PER_DAY mails a day from public forms."""

import threading
import time
from datetime import UTC, date, datetime

import pytest
from django.core import mail
from django.db import connection, transaction

from core.models import OutboxMail, PublicMailCount
from core.outbox import mailbox_hash, outbox_queue, outbox_send_due, outbox_send_one, public_mail_counts_purge

pytestmark = pytest.mark.django_db

VARIANTS = [
    "victim@example.com",
    "Victim@Example.com",
    "victim+a@example.com",
    "VICTIM+b@example.com",
    "victim+c@EXAMPLE.com",
    "victim+d@example.com",
    "victim@example.com",
]


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_MAIL_PER_ADDRESS_PER_DAY = 5
    settings.TIME_ZONE = "UTC"


def queue(to: str, *, from_public_form: bool = True) -> OutboxMail:
    return outbox_queue(
        template="subscription_confirm", to=to, subject="Please confirm", from_public_form=from_public_form
    )


def statuses(mails: list[OutboxMail]) -> list[str]:
    return [OutboxMail.objects.get(pk=m.pk).status for m in mails]


def test_the_sixth_public_mail_of_the_day_to_one_mailbox_is_withheld(clock, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as enqueued:
        mails = [queue(to) for to in VARIANTS]
    assert statuses(mails) == ["queued"] * 5 + ["withheld"] * 2
    assert len(enqueued) == 5  # no send task for a withheld mail
    count = PublicMailCount.objects.get()
    assert (count.mailbox_hash, count.day, count.count) == (mailbox_hash("victim@example.com"), date(2026, 6, 1), 5)
    # The withheld mail keeps its recipient and text, for the record.
    withheld = OutboxMail.objects.get(pk=mails[5].pk)
    assert (withheld.to, withheld.template, withheld.sent_at) == ("victim+d@example.com", "subscription_confirm", None)
    assert "confirm" in withheld.body_text


def test_the_count_names_no_address(clock):
    queue("victim@example.com")
    stored = PublicMailCount.objects.values_list("mailbox_hash", flat=True).get()
    assert len(stored) == 64 and "victim" not in stored
    assert stored == mailbox_hash("Victim+x@Example.com") != mailbox_hash("other@example.com")


def test_other_mailboxes_and_staff_caused_mail_are_not_capped(clock):
    for _ in range(5):
        queue("victim@example.com")
    other = queue("victim2@example.com")
    by_staff = queue("victim@example.com", from_public_form=False)
    assert statuses([other, by_staff]) == ["queued", "queued"]
    assert sorted(PublicMailCount.objects.values_list("count", flat=True)) == [1, 5]


def test_the_cap_is_configurable(settings, clock):
    settings.PUBLIC_MAIL_PER_ADDRESS_PER_DAY = 2
    assert statuses([queue(to) for to in VARIANTS[:3]]) == ["queued", "queued", "withheld"]


def test_a_new_day_counts_from_zero_and_housekeeping_drops_past_days(clock):
    for to in VARIANTS:
        queue(to)
    clock.set(datetime(2026, 6, 2, 0, 0, 1, tzinfo=UTC))
    assert statuses([queue("victim@example.com")]) == ["queued"]
    assert sorted(PublicMailCount.objects.values_list("day", "count")) == [(date(2026, 6, 1), 5), (date(2026, 6, 2), 1)]

    assert public_mail_counts_purge() == 1
    assert list(PublicMailCount.objects.values_list("day", "count")) == [(date(2026, 6, 2), 1)]


def test_a_rolled_back_submission_counts_nothing(clock):
    with pytest.raises(RuntimeError), transaction.atomic():
        for to in VARIANTS[:5]:
            queue(to)
        raise RuntimeError("the submission failed")
    assert statuses([queue("victim@example.com")]) == ["queued"]
    assert PublicMailCount.objects.get().count == 1


def test_the_worker_never_sends_a_withheld_mail(clock):
    mails = [queue(to) for to in VARIANTS]
    withheld = mails[5]

    counts = outbox_send_due()

    assert counts == {"sent": 5, "retry": 0, "failed": 0, "skipped": 0, "not_due": 0}
    assert [m.to for m in mail.outbox] == [[to] for to in VARIANTS[:5]]
    assert outbox_send_one(mail_id=withheld.pk) == "skipped"
    assert outbox_send_due() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "not_due": 0}
    assert len(mail.outbox) == 5
    assert statuses([withheld]) == ["withheld"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_transactions_never_exceed_the_cap(settings):
    """Six submissions at once, each holding its transaction open a moment after
    counting: exactly the cap is queued, the rest withheld, the count is exact."""
    settings.PUBLIC_MAIL_PER_ADDRESS_PER_DAY = 2
    barrier = threading.Barrier(6)
    results: list[object] = [None] * 6

    def submit(i: int) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                results[i] = queue(VARIANTS[i]).status
                time.sleep(0.1)  # a slow rest of the submission, lock held
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert sorted(map(str, results)) == ["queued"] * 2 + ["withheld"] * 4, results
    assert sorted(OutboxMail.objects.values_list("status", flat=True)) == ["queued"] * 2 + ["withheld"] * 4
    assert list(PublicMailCount.objects.values_list("count", flat=True)) == [2]
