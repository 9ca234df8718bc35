"""Periodic jobs run once per slot, whatever the number of workers and queued runs."""

from datetime import timedelta
from functools import partial

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from core.models import PeriodicJobSlot
from core.schedule import RAN, SKIPPED, PeriodicJob, declared_jobs, periodic_job_run, schedule_ensure
from documents import periodic
from tests.concurrency import race

JOBS = [
    "core.heartbeat",
    "customers.retention",
    "documents.grants",
    "evidence.checkpoint",
    "requests.housekeeping",
    "webhooks.deliveries",
]
WORKER = ("db_worker", "--batch", "--no-startup-delay", "--no-reload")


def runs(outcome: str | None = None) -> list[list[str]]:
    """The (name, slot) of each periodic run the worker finished, optionally only those with `outcome`."""
    done = DBTaskResult.objects.filter(task_path="core.schedule.periodic_job_task", status="SUCCESSFUL")
    return sorted(r.args_kwargs["args"] for r in done if outcome is None or r.return_value["outcome"] == outcome)


def waiting() -> list[list[str]]:
    """The (name, slot) of each queued periodic run, sorted."""
    ready = DBTaskResult.objects.filter(task_path="core.schedule.periodic_job_task", status="READY")
    return sorted(r.args_kwargs["args"] for r in ready)


@pytest.fixture
def worker(monkeypatch):
    # The worker recycles connections between tasks; the test's transaction must stay open.
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    return lambda: call_command(*WORKER, verbosity=0)


def test_every_app_declares_its_jobs_in_its_periodic_module():
    assert list(declared_jobs()) == JOBS


def test_ensuring_twice_queues_each_job_once(db, clock):
    assert schedule_ensure() == JOBS
    assert schedule_ensure() == []
    assert waiting() == [[name, clock.now.isoformat()] for name in JOBS]
    assert list(PeriodicJobSlot.objects.values_list("name", "next_run_at", "queued_for", "last_run_at")) == [
        (name, clock.now, clock.now, None) for name in JOBS
    ]


def test_a_slot_runs_once_and_queues_the_next(db, clock, settings):
    settings.HOUSEKEEPING_INTERVAL_SECONDS = 300
    schedule_ensure()
    slot = clock.now
    clock.advance(seconds=1)

    first = periodic_job_run(name="documents.grants", slot=slot)
    second = periodic_job_run(name="documents.grants", slot=slot)

    assert (first, second) == (
        {"job": "documents.grants", "outcome": RAN, "result": 0},
        {"job": "documents.grants", "outcome": SKIPPED},
    )
    row = PeriodicJobSlot.objects.get(name="documents.grants")
    assert (row.last_run_at, row.next_run_at, row.queued_for) == (
        clock.now,
        clock.now + timedelta(seconds=300),
        row.next_run_at,
    )
    assert waiting() == [
        ["core.heartbeat", slot.isoformat()],
        ["customers.retention", slot.isoformat()],
        ["documents.grants", slot.isoformat()],  # the run this test made by hand, in the worker's stead
        ["documents.grants", row.next_run_at.isoformat()],
        ["evidence.checkpoint", slot.isoformat()],
        ["requests.housekeeping", slot.isoformat()],
        ["webhooks.deliveries", slot.isoformat()],
    ]


def test_a_run_before_its_slot_waits_for_it(db, clock):
    schedule_ensure()
    slot = clock.now
    clock.set(slot - timedelta(minutes=1))  # the worker's clock is behind
    assert periodic_job_run(name="documents.grants", slot=slot) == {"job": "documents.grants", "outcome": SKIPPED}
    assert PeriodicJobSlot.objects.get(name="documents.grants").last_run_at is None
    assert waiting().count(["documents.grants", slot.isoformat()]) == 2  # queued again for its slot


def test_a_missed_slot_is_caught_up_once_not_once_per_interval(db, clock, settings, worker):
    settings.HOUSEKEEPING_INTERVAL_SECONDS = 300
    settings.EVIDENCE_CHECKPOINT_INTERVAL_SECONDS = 300
    settings.WORKER_HEARTBEAT_INTERVAL_SECONDS = 300
    schedule_ensure()
    slot = clock.now
    clock.advance(days=1)  # no worker for a day: 288 slots missed
    assert schedule_ensure() == JOBS  # a deploy meanwhile queues again: the waiting runs look lost

    worker()

    assert runs(RAN) == [[name, slot.isoformat()] for name in JOBS]
    assert runs(SKIPPED) == [[name, slot.isoformat()] for name in JOBS]  # the duplicates
    assert list(PeriodicJobSlot.objects.values_list("last_run_at", "next_run_at")) == [
        (clock.now, clock.now + timedelta(seconds=300))
    ] * len(JOBS)
    assert waiting() == [[name, (clock.now + timedelta(seconds=300)).isoformat()] for name in JOBS]


def test_a_failing_job_still_queues_its_next_run(db, clock, settings, monkeypatch):
    settings.HOUSEKEEPING_INTERVAL_SECONDS = 300
    schedule_ensure()
    slot = clock.now

    def broken() -> None:
        raise OSError("disk gone")

    job = declared_jobs()["documents.grants"]
    monkeypatch.setattr(periodic, "JOBS", [PeriodicJob(name=job.name, run=broken, interval=job.interval)])
    with pytest.raises(OSError, match="disk gone"):
        periodic_job_run(name="documents.grants", slot=slot)
    assert ["documents.grants", (clock.now + timedelta(seconds=300)).isoformat()] in waiting()
    assert PeriodicJobSlot.objects.get(name="documents.grants").next_run_at == clock.now + timedelta(seconds=300)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_at_once_run_a_slot_once():
    schedule_ensure()
    slot = PeriodicJobSlot.objects.get(name="documents.grants").next_run_at
    outcomes = [run["outcome"] for run in race(*[partial(periodic_job_run, name="documents.grants", slot=slot)] * 2)]
    assert sorted(outcomes) == [RAN, SKIPPED]
    assert [args[0] for args in waiting()] == [
        "core.heartbeat",
        "customers.retention",
        "documents.grants",
        "documents.grants",
        "evidence.checkpoint",
        "requests.housekeeping",
        "webhooks.deliveries",
    ]
    # the first queued (the slot run here by hand) and one next run, not two


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_hosts_ensuring_at_once_queue_each_job_once():
    queued = race(schedule_ensure, schedule_ensure)
    assert sorted(name for names in queued for name in names) == JOBS
    assert sorted(args[0] for args in waiting()) == JOBS
