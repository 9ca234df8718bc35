import datetime as dt
import logging

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from core.enums import MailStatus
from core.models import OutboxMail
from core.outbox import outbox_send_due, outbox_send_one, retry_delay
from requests_app.enums import TicketKind, TicketStatus
from requests_app.models import Ticket
from requests_app.services import ticket_transition

from .conftest import submit

DOWN = "tests.requests_app.mail_backends.SmtpDownBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def test_smtp_down_keeps_ticket_and_mail_then_sends_each_mail_exactly_once(db, settings):
    settings.EMAIL_BACKEND = DOWN
    ticket, _ = submit(TicketKind.DSR_ACCESS)
    start = timezone.now()
    counts = outbox_send_due(now=start)
    assert counts == {"sent": 0, "retry": 3, "failed": 0, "skipped": 0, "not_due": 0}
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert mail.outbox == []
    rows = list(OutboxMail.objects.order_by("id"))
    assert [(m.status, m.attempts, m.last_error) for m in rows] == [(MailStatus.QUEUED, 1, "SMTPRecipientsRefused")] * 3
    assert all(m.next_attempt_at == start + dt.timedelta(seconds=60) for m in rows)

    # Still down at the next try: backoff doubles.
    counts = outbox_send_due(now=start + dt.timedelta(seconds=61))
    assert counts["retry"] == 3
    assert {m.next_attempt_at for m in OutboxMail.objects.all()} == {start + dt.timedelta(seconds=61 + 120)}

    settings.EMAIL_BACKEND = LOCMEM
    # Not due yet: nothing is sent early.
    assert outbox_send_due(now=start + dt.timedelta(seconds=62))["sent"] == 0
    later = start + dt.timedelta(seconds=200)
    assert outbox_send_due(now=later)["sent"] == 3
    assert outbox_send_due(now=later + dt.timedelta(hours=1))["sent"] == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.org", "ann@example.org", "queue@example.com"]
    assert [m.subject for m in mail.outbox] == [r.subject for r in rows]
    assert (
        list(OutboxMail.objects.values_list("status", "attempts", "sent_at", "last_error"))
        == [(MailStatus.SENT, 3, later, "")] * 3
    )


def test_error_text_keeps_no_address(db, settings):
    settings.EMAIL_BACKEND = DOWN
    submit()
    outbox_send_due()
    errors = set(OutboxMail.objects.values_list("last_error", flat=True))
    assert errors == {"SMTPRecipientsRefused"}


def test_connection_failure_is_retried(db, settings):
    settings.EMAIL_BACKEND = "tests.requests_app.mail_backends.SmtpConnectFailsBackend"
    submit()
    assert outbox_send_due()["retry"] == 2
    assert set(OutboxMail.objects.values_list("last_error", flat=True)) == {"SMTPServerDisconnected"}


def test_gives_up_after_max_attempts(db, settings):
    settings.EMAIL_BACKEND = DOWN
    settings.OUTBOX_MAX_ATTEMPTS = 2
    submit()
    now = timezone.now()
    outbox_send_due(now=now)
    counts = outbox_send_due(now=now + dt.timedelta(days=1))
    assert counts["failed"] == 2
    assert set(OutboxMail.objects.values_list("status", "attempts")) == {(MailStatus.FAILED, 2)}
    assert outbox_send_due(now=now + dt.timedelta(days=2))["failed"] == 0


def test_backoff_is_exponential_and_capped(settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 60
    settings.OUTBOX_RETRY_MAX_SECONDS = 3600
    assert [retry_delay(n).total_seconds() for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_sent_mail_is_not_sent_again(db):
    submit()
    mail_id = OutboxMail.objects.first().pk
    assert outbox_send_one(mail_id=mail_id) == "sent"
    assert outbox_send_one(mail_id=mail_id) == "skipped"
    assert len(mail.outbox) == 1


def test_mail_in_a_rolled_back_transaction_never_exists(db):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        submit()
        raise RuntimeError("the change failed")
    assert (Ticket.objects.count(), OutboxMail.objects.count()) == (0, 0)


def test_mail_is_handed_to_the_task_worker_on_commit(db, settings, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        submit()
    # The two mails' send tasks and the TicketCreated event.
    assert len(callbacks) == 3
    assert list(OutboxMail.objects.values_list("status", flat=True)) == [MailStatus.SENT] * 2
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.org", "queue@example.com"]


# The worker closes connections it finds inside a transaction, so these tests
# commit for real (and restore the migrated roles afterwards).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_database_task_backend_and_db_worker_send_the_mail(settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    submit()
    assert list(DBTaskResult.objects.values_list("task_path", flat=True)) == ["core.outbox.send_outbox_mail"] * 2
    assert mail.outbox == []
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.org", "queue@example.com"]
    assert set(OutboxMail.objects.values_list("status", flat=True)) == {MailStatus.SENT}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_failed_send_task_schedules_its_retry(settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.EMAIL_BACKEND = DOWN
    submit()
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    retries = DBTaskResult.objects.filter(status="READY")
    assert retries.count() == 2
    assert {r.run_after for r in retries} == set(OutboxMail.objects.values_list("next_attempt_at", flat=True))


def test_send_queued_mail_command_prints_counts(db, capsys):
    submit()
    call_command("send_queued_mail")
    assert capsys.readouterr().out == "Outbox: 2 sent, 0 to retry, 0 failed, 0 skipped.\n"
    call_command("send_queued_mail")
    assert capsys.readouterr().out == "Outbox: 0 sent, 0 to retry, 0 failed, 0 skipped.\n"


def test_logs_carry_no_personal_data(db, settings, caplog, handler):
    caplog.set_level(logging.DEBUG)
    settings.EMAIL_BACKEND = DOWN
    ticket, _ = submit(TicketKind.DSR_ACCESS, account_email="ann.account@example.org")
    outbox_send_due()
    settings.EMAIL_BACKEND = LOCMEM
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.EXPIRED, actor=handler, reason="late")
    outbox_send_due(now=timezone.now() + dt.timedelta(hours=1))
    assert caplog.records, "expected log lines"
    text = caplog.text
    for secret in ("ann@example.org", "ann.account@example.org", "Ann Example", "Example GmbH", "203.0.113.9"):
        assert secret not in text
    assert ticket.reference in text


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_housekeeping_runs_on_the_worker_and_schedules_itself(settings, capsys):
    from django_tasks_db.models import DBTaskResult

    from core.models import PeriodicJobSlot

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.HOUSEKEEPING_INTERVAL_SECONDS = 0
    settings.EMAIL_BACKEND = DOWN
    submit()  # its mails fail now and wait for a retry
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert mail.outbox == []
    call_command("schedule_housekeeping")
    call_command("schedule_housekeeping")
    assert capsys.readouterr().out == (
        "Periodic jobs queued: core.heartbeat, customers.retention, documents.grants, evidence.checkpoint, "
        "requests.housekeeping, webhooks.deliveries; already queued: none.\n"
        "Periodic jobs queued: none; already queued: core.heartbeat, customers.retention, documents.grants, "
        "evidence.checkpoint, requests.housekeeping, webhooks.deliveries.\n"
    )
    settings.EMAIL_BACKEND = LOCMEM
    OutboxMail.objects.filter(status=MailStatus.QUEUED).update(next_attempt_at=timezone.now())
    slot = PeriodicJobSlot.objects.get(name="requests.housekeeping").next_run_at
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--max-tasks", "5", verbosity=0)
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.org", "queue@example.com"]
    done = DBTaskResult.objects.get(
        task_path="core.schedule.periodic_job_task", args_kwargs__args=["requests.housekeeping", slot.isoformat()]
    )
    returned = done.return_value or {}
    assert (done.status, returned["outcome"]) == ("SUCCESSFUL", "ran")
    # Every retention purge runs with it: tickets, and those of the apps that receive RetentionDue.
    assert returned["result"]["purged"] == {
        "documents": {"acceptances": 0, "downloads": 0, "grants": 0},
        "subscribers": {"deleted": 0, "anonymised": 0, "mails": 0},
        "tickets": {"tickets": 0, "history_rows": 0, "mails": 0, "attachments": 0, "messages": 0, "notes": 0},
    }
    following = PeriodicJobSlot.objects.get(name="requests.housekeeping")
    assert following.next_run_at > slot
    waiting = DBTaskResult.objects.filter(task_path="core.schedule.periodic_job_task", status="READY")
    assert sorted(args for args in waiting.values_list("args_kwargs__args", flat=True)) == [
        ["core.heartbeat", PeriodicJobSlot.objects.get(name="core.heartbeat").next_run_at.isoformat()],
        ["customers.retention", PeriodicJobSlot.objects.get(name="customers.retention").next_run_at.isoformat()],
        ["documents.grants", PeriodicJobSlot.objects.get(name="documents.grants").next_run_at.isoformat()],
        ["evidence.checkpoint", PeriodicJobSlot.objects.get(name="evidence.checkpoint").next_run_at.isoformat()],
        ["requests.housekeeping", following.next_run_at.isoformat()],  # the next runs
        ["webhooks.deliveries", PeriodicJobSlot.objects.get(name="webhooks.deliveries").next_run_at.isoformat()],
    ]


def test_links_survive_a_secret_key_rotation_with_fallbacks(db, settings):
    _, raw_token = submit()
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert outbox_send_due()["sent"] == 2
    assert f"/requests/status/{raw_token}/" in mail.outbox[0].body


def test_links_that_no_key_rebuilds_are_retried_not_sent_broken(db, settings):
    submit()
    settings.SECRET_KEY = "a-new-secret-key-" + "y" * 40
    settings.SECRET_KEY_FALLBACKS = []
    counts = outbox_send_due()
    assert (counts["sent"], counts["retry"]) == (1, 1)  # the staff mail has no private link
    assert OutboxMail.objects.get(template="ticket_received").last_error == "LookupError"
