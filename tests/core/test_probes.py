"""/healthz (liveness) and /readyz (readiness): each check of /readyz failing on its own."""

import datetime as dt

import pytest
from django.db import connection
from django.db.utils import OperationalError

from core import heartbeat
from core.enums import MailStatus
from core.heartbeat import beat, last_beat, worker_name
from core.models import OutboxMail, WorkerHeartbeat
from core.schedule import declared_jobs
from trustcenter.health import forget_migrations_check

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _migrations_checked_afresh():
    forget_migrations_check()
    yield
    forget_migrations_check()


OK: dict[str, dict[str, object]] = {
    "database": {"ok": True},
    "cache": {"ok": True},
    "migrations": {"ok": True, "unapplied": 0},
    "worker": {"ok": True, "last_beat_seconds_ago": 30, "limit_seconds": 180},
    "outbox": {"ok": True, "lag_seconds": 0, "limit_seconds": 900},
}


@pytest.fixture
def alive(clock):
    """A worker beat 30 seconds ago."""
    beat(now=clock.now - dt.timedelta(seconds=30))
    return clock


def ready(client):
    response = client.get("/readyz")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response.status_code, response.json()


def failing(checks: dict, *names: str) -> dict:
    return {"status": "failing", "failing": list(names), "checks": checks}


def queue_mail(*, due: dt.datetime, status: str = MailStatus.QUEUED) -> OutboxMail:
    sent_at = due if status == MailStatus.SENT else None
    return OutboxMail.objects.create(
        template="test",
        to="x@example.org",
        subject="s",
        status=status,
        next_attempt_at=due,
        created_at=due,
        sent_at=sent_at,
    )


def test_ready_when_every_check_passes(client, alive):
    assert ready(client) == (200, {"status": "ok", "failing": [], "checks": OK})


def test_the_database_away_fails_every_check_that_reads_it(client, alive, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("connection refused to db.internal as trustcenter_app")

    monkeypatch.setattr(connection, "cursor", down)
    error = {"ok": False, "error": "OperationalError"}
    checks = {**OK, "database": error, "migrations": error, "worker": error, "outbox": error}
    status, body = ready(client)
    assert (status, body) == (503, failing(checks, "database", "migrations", "worker", "outbox"))
    # Nothing of the error's message (hosts, roles) is shown.
    assert "db.internal" not in str(body)
    # Liveness does not depend on the database.
    assert client.get("/healthz").json() == {"status": "ok"}


def test_the_cache_away(client, alive, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    checks = {**OK, "cache": {"ok": False, "error": "ConnectionError"}}
    assert ready(client) == (503, failing(checks, "cache"))


def test_a_cache_that_keeps_nothing(client, alive, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert ready(client) == (503, failing({**OK, "cache": {"ok": False}}, "cache"))


def test_unapplied_migrations(client, alive):
    assert ready(client)[0] == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = %s AND name IN (%s, %s)",
            ["core", "0006_outbox_sending", "0005_worker_heartbeat"],
        )
    assert ready(client)[0] == 200  # a success is remembered for a while in the process…
    forget_migrations_check()  # …until it lapses
    checks = {**OK, "migrations": {"ok": False, "unapplied": 2}}
    assert ready(client) == (503, failing(checks, "migrations"))
    assert ready(client) == (503, failing(checks, "migrations"))  # a failure is never remembered


def test_no_worker_ever_beat(client, clock):
    checks = {**OK, "worker": {"ok": False, "last_beat_seconds_ago": None, "limit_seconds": 180}}
    assert ready(client) == (503, failing(checks, "worker"))


def test_a_worker_silent_for_longer_than_the_limit(client, clock, settings):
    beat(now=clock.now - dt.timedelta(seconds=181))
    checks = {**OK, "worker": {"ok": False, "last_beat_seconds_ago": 181, "limit_seconds": 180}}
    assert ready(client) == (503, failing(checks, "worker"))
    settings.READYZ_WORKER_MAX_AGE_SECONDS = 181
    assert ready(client)[0] == 200


def test_mail_waiting_longer_than_the_limit(client, alive):
    queue_mail(due=alive.now - dt.timedelta(seconds=900))
    assert ready(client) == (
        200,
        {
            "status": "ok",
            "failing": [],
            "checks": {**OK, "outbox": {"ok": True, "lag_seconds": 900, "limit_seconds": 900}},
        },
    )
    queue_mail(due=alive.now - dt.timedelta(seconds=901))
    checks = {**OK, "outbox": {"ok": False, "lag_seconds": 901, "limit_seconds": 900}}
    assert ready(client) == (503, failing(checks, "outbox"))


def test_only_mail_due_and_queued_counts_as_lag(client, alive):
    long_ago = alive.now - dt.timedelta(days=3)
    for status in (MailStatus.SENT, MailStatus.FAILED, MailStatus.WITHHELD):
        queue_mail(due=long_ago, status=status)
    queue_mail(due=alive.now + dt.timedelta(hours=1))  # a retry not yet due
    assert ready(client) == (200, {"status": "ok", "failing": [], "checks": OK})


def test_every_check_failing_at_once(client, clock, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    queue_mail(due=clock.now - dt.timedelta(hours=1))
    status, body = ready(client)
    assert status == 503
    assert body["failing"] == ["cache", "worker", "outbox"]


def test_readyz_answers_only_get(client, alive):
    assert client.post("/readyz").status_code == 405


def test_beat_writes_one_row_per_worker_and_forgets_silent_ones(clock):
    WorkerHeartbeat.objects.create(worker="gone:1", beat_at=clock.now - dt.timedelta(days=1, seconds=1))
    WorkerHeartbeat.objects.create(worker="other:2", beat_at=clock.now - dt.timedelta(hours=23))
    assert beat(now=clock.now) is True
    assert beat(now=clock.now + dt.timedelta(seconds=1)) is True
    assert dict(WorkerHeartbeat.objects.values_list("worker", "beat_at")) == {
        worker_name(): clock.now + dt.timedelta(seconds=1),
        "other:2": clock.now - dt.timedelta(hours=23),
    }
    assert last_beat() == clock.now + dt.timedelta(seconds=1)


def test_a_loop_may_beat_on_every_turn(clock, monkeypatch):
    monkeypatch.setattr(heartbeat, "_last_written", {})
    assert beat() is True
    first = WorkerHeartbeat.objects.get().beat_at
    clock.advance(seconds=1)
    assert beat() is False  # within MIN_BEAT_SECONDS of the last write in this process
    assert WorkerHeartbeat.objects.get().beat_at == first


def test_the_heartbeat_is_a_periodic_job_of_every_worker(clock):
    job = declared_jobs()["core.heartbeat"]
    assert job.interval() == dt.timedelta(seconds=60)
    assert job.run() == {"worker": worker_name()}
    assert last_beat() == clock.now
