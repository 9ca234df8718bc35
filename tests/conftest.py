import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection, connections
from django.test import RequestFactory
from django.utils import timezone

from compliance import live
from compliance import views as public_views
from compliance.services import publication_publish_initial, seed_load
from core.history import system_actor
from tests import db_roles
from tests.factories import SEED_DATA, StaffFactory

# The positional order of the django_db marker's arguments (pytest-django).
_DJANGO_DB_ARGS = ("transaction", "reset_sequences", "databases", "serialized_rollback", "available_apps")
E2E_DIR = Path(__file__).resolve().parent / "e2e"


def _flushes_without_restoring(item: pytest.Item) -> bool:
    """A transactional test that empties the database afterwards but does not
    ask for serialized rollback: the flush re-creates content types with new
    keys, and the next test that restores the database collides with them."""
    marker = item.get_closest_marker("django_db")
    options = {**dict(zip(_DJANGO_DB_ARGS, marker.args, strict=False)), **marker.kwargs} if marker else {}
    fixtures = getattr(item, "fixturenames", ())
    transactional = options.get("transaction") or "transactional_db" in fixtures or "live_server" in fixtures
    restoring = options.get("serialized_rollback") or "django_db_serialized_rollback" in fixtures
    return bool(transactional) and not restoring


def pytest_collection_modifyitems(config, items):
    """Transactional tests restore the database. Everything under tests/e2e
    drives a browser and is marked `e2e` (so the SQLite phase of scripts/test
    leaves it out even if a module forgets the mark). PostgreSQL-only tests
    skip on SQLite; scripts/test runs them on PostgreSQL."""
    offenders = [item.nodeid for item in items if _flushes_without_restoring(item)]
    if offenders:
        raise pytest.UsageError(
            "Transactional tests must restore the database: use "
            "@pytest.mark.django_db(transaction=True, serialized_rollback=True). Missing in: " + ", ".join(offenders)
        )
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)
    if os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); CI runs it there")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, with the copy of what migrations created
    (roles, content types) that serialized rollback restores kept on the
    connection class rather than on one connection object: Playwright's event
    loop gets its own set of connection objects (asgiref's Local follows the
    loop's context), and without the copy those would flush without restoring.

    On PostgreSQL, also the application's role with its run-time grants, and a
    flush that goes round the guards as the owner (`tests/db_roles.py`).
    """
    for alias in connections:
        contents = getattr(connections[alias], "_test_serialized_contents", None)
        if contents is not None:
            # Django keeps it as an undeclared attribute; one database alias here.
            type(connections[alias])._test_serialized_contents = contents  # type: ignore[attr-defined]
    if connection.vendor != "postgresql":
        yield
        return
    operations = type(connection.ops)
    with django_db_blocker.unblock():
        db_roles.prepare()
    operations.execute_sql_flush = db_roles.flush_as_dba  # type: ignore[method-assign,assignment]
    yield
    del operations.execute_sql_flush
    # The owner drops the test database.
    db_roles.connect_as(db_roles.owner_user())


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """Right before pytest-django opens a test's database (and its transaction), log in as the role the
    test runs as: the application's role under `db_roles.APP_ROLE_DIRS`, the owner elsewhere."""
    if fixturedef.argname == "_django_db_helper" and db_roles.is_prepared():
        app_role = db_roles.runs_as_app_role(request.node)
        with request.getfixturevalue("django_db_blocker").unblock():
            db_roles.connect_as(db_roles.APP_ROLE if app_role else db_roles.owner_user())
    return (yield)


@pytest.fixture
def dba():
    """A separate connection of the owner (superuser): what a database administrator can do."""
    with db_roles.dba() as conn:
        yield conn


class MemoClock:
    """The clock of the live-version memo (`compliance.live.monotonic`), moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def memo_clock(monkeypatch):
    """Each test reads the live version from its own database, never from the memo
    a previous test left in this process; and the memo's second passes only when
    a test says so (`memo_clock.advance(1)`), so query counts never depend on speed."""
    clock = MemoClock()
    monkeypatch.setattr(live, "monotonic", clock)
    live.live_state_forget()
    public_views._bodies.clear()
    public_views._ready.clear()
    yield clock
    live.live_state_forget()
    public_views._bodies.clear()
    public_views._ready.clear()


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _private_files_in_tmp(settings, tmp_path):
    """Uploads (documents, attachments) go to a directory of the test, never to var/."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


# The fixed evidence signing key of the test suite (never used anywhere else), so
# signed checkpoints are the same on every run; and a second one for rotation tests.
TEST_SIGNING_KEY = "PRIVATE+KEY+trust.test/evidence+7b1d380b+AfQ1ViAZ8f5amCkeI1NHWAWQepWFMphtNBgl7lVgh5DJ"
TEST_VERIFIER_KEY = "trust.test/evidence+7b1d380b+AaKsbee1NTp08pMqHMTMU7dRyq07rQvk16fyhiwgkpV7"
NEXT_SIGNING_KEY = "PRIVATE+KEY+trust.test/evidence+794b2fee+AUDCDaVEGHJMIaSHizmz68xQJth/RhVxugRmrUdLtj2s"
NEXT_VERIFIER_KEY = "trust.test/evidence+794b2fee+AdPv+QicS/mY2lvIqTsiR/93YJ/bDEDE2LX/CXj3C61K"


@pytest.fixture(autouse=True)
def _evidence_signing(settings, tmp_path):
    """Checkpoints are signed with the fixed test key and appended to a file of the test, never var/."""
    settings.EVIDENCE_SIGNING_KEY = TEST_SIGNING_KEY
    settings.EVIDENCE_LOG_ORIGIN = "trust.test/evidence"
    settings.EVIDENCE_CHECKPOINT_FILE = tmp_path / "evidence-checkpoints.txt"
    settings.EVIDENCE_SIGNING_KEY_FILE = tmp_path / "evidence-signing.key"


@pytest.fixture
def ratelimit_wait(monkeypatch) -> Callable[[str, str, str], int]:
    """Stops django-ratelimit's clock; returns how many seconds the window of a
    (group, key value, rate) counter then has left, as the limiter computes it."""
    import django_ratelimit.core

    frozen = time.time()
    monkeypatch.setattr(django_ratelimit.core, "time", SimpleNamespace(time=lambda: frozen))

    def wait(group: str, value: str, rate: str) -> int:
        usage = django_ratelimit.core.get_usage(
            RequestFactory().get("/"), group=group, key=lambda g, r: value, rate=rate
        )
        assert usage is not None
        assert 0 < usage["time_left"] <= 3600
        return usage["time_left"]

    return wait


@pytest.fixture
def seeded(db):
    """The reference content, loaded as the seed command does."""
    return seed_load(data=SEED_DATA, actor=system_actor())


@pytest.fixture
def make_staff(db):
    def make(username: str, *groups: str, superuser: bool = False):
        return StaffFactory.create(username=username, is_superuser=superuser, groups=groups)

    return make


@pytest.fixture
def editor(make_staff):
    return make_staff("edna", "Compliance editor")


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


class Clock:
    """A stand-in for `django.utils.timezone.now` that tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))  # a Monday
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.fixture
def approver(make_staff):
    return make_staff("apollo", "Compliance approver")


@pytest.fixture
def published(seeded):
    """The reference content, published as version 1 as the seed command does."""
    return publication_publish_initial(actor=system_actor())
