"""A mail is claimed (committed as `sending`) before it is handed to the mail
server, and its outcome recorded afterwards: no second worker sends it while it
is under way, a database restart after the handoff does not send it again, and
only a worker that dies in between leaves a claim, which expires and is sent
again with the same Message-ID."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection

from core.enums import MailStatus
from core.models import OutboxMail
from core.outbox import INTERRUPTED, outbox_queue, outbox_send_batch, outbox_send_due
from trustcenter.health import check_outbox

DURING_SEND: list = []  # called once each, in order, while a mail is being handed over


class HookBackend(LocmemBackend):
    def send_messages(self, messages):
        sent = super().send_messages(messages)
        if DURING_SEND:
            DURING_SEND.pop(0)()
        return sent


class WorkerKilled(BaseException):
    """What a killed worker process amounts to: nothing after it runs."""


@pytest.fixture(autouse=True)
def hook_backend(settings):
    settings.EMAIL_BACKEND = f"{__name__}.HookBackend"
    settings.OUTBOX_CLAIM_SECONDS = 900
    DURING_SEND.clear()
    yield
    DURING_SEND.clear()


def queue(to: str = "ann@example.com") -> OutboxMail:
    return outbox_queue(template="subscription_confirm", to=to, subject="Please confirm")


def row(mail_id: int) -> tuple[str, int, str]:
    return OutboxMail.objects.values_list("status", "attempts", "last_error").get(pk=mail_id)


@pytest.mark.django_db
def test_a_second_worker_skips_a_mail_that_is_under_way():
    queued = queue()
    others: list[dict[int, str]] = []
    DURING_SEND.append(lambda: others.append(outbox_send_batch(mail_ids=[queued.pk])))

    assert outbox_send_batch(mail_ids=[queued.pk]) == {queued.pk: "sent"}

    assert others == [{queued.pk: "skipped"}]
    assert len(mail.outbox) == 1
    assert row(queued.pk) == (MailStatus.SENT, 1, "")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_database_restart_after_the_handoff_does_not_send_the_mail_again(dba):
    queued = queue()

    def server_drops_the_connection():
        pid = connection.connection.info.backend_pid
        dba.execute("SELECT pg_terminate_backend(%s)", [pid])

    DURING_SEND.append(server_drops_the_connection)

    assert outbox_send_batch(mail_ids=[queued.pk]) == {queued.pk: "sent"}
    assert outbox_send_due() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "not_due": 0}

    assert [m.to for m in mail.outbox] == [["ann@example.com"]]
    assert row(queued.pk) == (MailStatus.SENT, 1, "")


@pytest.mark.django_db
def test_a_claim_left_by_a_dead_worker_expires_and_the_mail_goes_again_with_the_same_id(clock, caplog):
    queued = queue()

    def killed():
        raise WorkerKilled

    DURING_SEND.append(killed)
    with pytest.raises(WorkerKilled):
        outbox_send_batch(mail_ids=[queued.pk])
    assert row(queued.pk) == (MailStatus.SENDING, 1, "")

    clock.advance(seconds=899)
    assert outbox_send_due() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "not_due": 0}
    assert len(mail.outbox) == 1  # the claim holds: no second send while it may be under way
    assert check_outbox()["lag_seconds"] == 0

    clock.advance(seconds=61)
    assert check_outbox()["lag_seconds"] == 60  # /readyz sees the expired claim as lag
    assert outbox_send_due() == {"sent": 1, "retry": 0, "failed": 0, "skipped": 0, "not_due": 0}

    first, second = mail.outbox
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]
    assert first.extra_headers["Message-ID"].startswith(f"<outbox-{queued.pk}.")
    assert first.extra_headers["Message-ID"].endswith("@127.0.0.1>")
    assert row(queued.pk) == (MailStatus.SENT, 2, "")
    assert "1 outbox mail(s) whose sending was interrupted are queued again (failed if purged)" in caplog.text


@pytest.mark.django_db
def test_an_expired_claim_whose_personal_data_was_purged_fails_instead(clock):
    queued = queue()
    OutboxMail.objects.filter(pk=queued.pk).update(
        status=MailStatus.SENDING, next_attempt_at=clock() - timedelta(seconds=1), to="", purged_at=clock()
    )

    assert outbox_send_due() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "not_due": 0}

    assert mail.outbox == []
    assert row(queued.pk) == (MailStatus.FAILED, 0, INTERRUPTED)
