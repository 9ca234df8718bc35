"""`manage.py run_worker`: the task worker goes on after the database went away.

The outage is simulated by raising what Django raises when PostgreSQL
restarts; the real restart is `make outage` (bench/outage.py)."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError
from django_tasks import task
from django_tasks_db.models import DBTaskResult, DBTaskResultQuerySet

from core import worker as worker_module
from core.enums import MailStatus
from core.models import OutboxMail
from core.outbox import outbox_queue
from core.worker import ResilientWorker

pytestmark = pytest.mark.django_db

RUNS: list[str] = []
FAILURES: list[str] = []  # each run of `note_run` first fails with the next of these, as long as there are any


@task()
def note_run(label: str) -> str:
    if FAILURES:
        raise OperationalError(FAILURES.pop(0))
    RUNS.append(label)
    return label


@pytest.fixture(autouse=True)
def worker_settings(settings, monkeypatch):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    RUNS.clear()
    FAILURES.clear()
    # The test's transaction must survive the worker's connection housekeeping.
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    monkeypatch.setattr(worker_module, "close_all_connections", lambda: None)


def new_worker(**overrides) -> tuple[ResilientWorker, list[float]]:
    waits: list[float] = []
    options = {
        "queue_names": ["default"],
        "interval": 0,
        "batch": True,
        "backend_name": "default",
        "startup_delay": False,
        "max_tasks": None,
        "worker_id": "worker-1",
        "excluded_queue_names": [],
        "backoff_max": 4,
        "sleep": waits.append,
    }
    return ResilientWorker(**{**options, **overrides}), waits


def fail_once(monkeypatch, owner, name: str, message: str = "server closed the connection unexpectedly") -> None:
    original = getattr(owner, name)

    def failing(*args, **kwargs):
        monkeypatch.setattr(owner, name, original)
        raise OperationalError(message)

    monkeypatch.setattr(owner, name, failing)


def test_the_worker_survives_an_operational_error_then_runs_the_task(monkeypatch):
    result = note_run.enqueue("first")
    fail_once(monkeypatch, DBTaskResultQuerySet, "get_locked")
    worker, waits = new_worker()
    worker.run()
    assert (worker.outages, waits) == (1, [0.5])
    assert RUNS == ["first"]
    row = DBTaskResult.objects.get(pk=result.id)
    assert (row.status, row.return_value, row.worker_ids) == ("SUCCESSFUL", "first", ["worker-1"])


def test_reconnecting_backs_off_exponentially_up_to_the_maximum(monkeypatch):
    note_run.enqueue("late")
    refusals = {"left": 5}  # the first ends the worker's loop, the next four its reconnection attempts
    real_ensure = type(worker_module.connections["default"]).ensure_connection

    def refuse_five_times(self):
        if refusals["left"]:
            refusals["left"] -= 1
            raise OperationalError("connection refused")
        return real_ensure(self)

    monkeypatch.setattr(type(worker_module.connections["default"]), "ensure_connection", refuse_five_times)
    worker, waits = new_worker()
    worker.run()
    assert (worker.outages, waits) == (1, [0.5, 1.0, 2.0, 4.0, 4.0])  # the fifth attempt connects
    assert RUNS == ["late"]


def test_a_task_whose_outcome_could_not_be_recorded_runs_again(monkeypatch):
    """The database went away during the task: the task failed, and recording
    that failed too. The task is put back and runs once the database is back."""
    result = note_run.enqueue("again")
    FAILURES.append("terminating connection due to administrator command")
    fail_once(monkeypatch, DBTaskResult, "set_failed", "the database system is shutting down")
    worker, waits = new_worker()
    worker.run()
    assert (worker.outages, waits) == (1, [0.5])
    row = DBTaskResult.objects.get(pk=result.id)
    assert (row.status, row.return_value, row.worker_ids) == ("SUCCESSFUL", "again", ["worker-1", "worker-1"])
    assert RUNS == ["again"]


def test_a_task_failed_by_the_database_and_recorded_is_run_again(monkeypatch):
    result = note_run.enqueue("recorded")
    FAILURES.append("could not serialize access due to concurrent update")
    worker, waits = new_worker()
    worker.run()
    assert (worker.outages, waits) == (0, [])
    row = DBTaskResult.objects.get(pk=result.id)
    assert (row.status, row.worker_ids, row.traceback) == ("SUCCESSFUL", ["worker-1", "worker-1"], "")


def test_a_task_failing_on_the_database_every_time_stops_after_max_claims(monkeypatch):
    result = note_run.enqueue("never")
    FAILURES.extend(["canceling statement due to statement timeout"] * 20)
    new_worker()[0].run()
    row = DBTaskResult.objects.get(pk=result.id)
    assert (row.status, len(row.worker_ids)) == ("FAILED", worker_module.MAX_CLAIMS)
    assert row.exception_class_path == "django.db.utils.OperationalError"
    assert (RUNS, len(FAILURES)) == ([], 20 - worker_module.MAX_CLAIMS)


def test_after_an_outage_the_worker_sends_mail_that_has_no_send_task(monkeypatch, django_capture_on_commit_callbacks):
    # Committed while the database went away: its send task was never queued.
    orphan = outbox_queue(template="subscription_confirm", to="orphan@example.com", subject="Please confirm")
    note_run.enqueue("any")
    fail_once(monkeypatch, DBTaskResultQuerySet, "get_locked")
    new_worker()[0].run()
    assert [m.to for m in mail.outbox] == [["orphan@example.com"]]
    assert OutboxMail.objects.get(pk=orphan.pk).status == MailStatus.SENT


def test_run_worker_command_sends_queued_mail(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outbox_queue(template="subscription_confirm", to="a@example.com", subject="Please confirm")
        outbox_queue(template="subscription_confirm", to="b@example.com", subject="Please confirm")
    assert DBTaskResult.objects.filter(status="READY").count() == 2
    call_command("run_worker", "--batch", "--no-startup-delay", "--backoff-max", "2", verbosity=0)
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]
    assert list(DBTaskResult.objects.values_list("status", flat=True)) == ["SUCCESSFUL"] * 2
