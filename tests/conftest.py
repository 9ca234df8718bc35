import os
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from compliance.services import publication_publish_initial, seed_load
from core.history import system_actor
from tests.factories import SEED_DATA


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests skip on SQLite; scripts/test runs them on PostgreSQL."""
    if os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); CI runs it there")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _private_files_in_tmp(settings, tmp_path):
    """Uploads (documents, attachments) go to a directory of the test, never to var/."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture
def seeded(db):
    """The reference content, loaded as the seed command does."""
    return seed_load(data=SEED_DATA, actor=system_actor())


@pytest.fixture
def make_staff(db, django_user_model):
    def make(username: str, *groups: str, superuser: bool = False):
        user = django_user_model.objects.create_user(
            username=username,
            password="correct-horse-battery",
            email=f"{username}@example.com",
            is_staff=True,
            is_superuser=superuser,
        )
        for name in groups:
            user.groups.add(Group.objects.get(name=name))
        return user

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


@pytest.fixture
def transactional_db(_share_serialized_contents, django_db_serialized_rollback, _django_db_helper):
    """Every transactional test restores what migrations created (roles, content
    types) after it flushes the database; mixing flushing tests with
    serialized ones would otherwise collide on re-created content types."""


# Playwright's sync API runs its event loop in this thread, and code running
# while a browser is open sees a different `connections` object than the one
# the test database was set up with; it lacks the serialized copy of what
# migrations created. Share that copy so that browser tests restore the
# database like every other transactional test.
_SERIALIZED: dict[str, str] = {}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from django.db import connections

    for alias in connections:
        contents = getattr(connections[alias], "_test_serialized_contents", None)
        if contents is not None:
            _SERIALIZED[alias] = contents


@pytest.fixture
def _share_serialized_contents():
    from django.db import connections

    for alias, contents in _SERIALIZED.items():
        if not hasattr(connections[alias], "_test_serialized_contents"):
            # Django's test runner keeps the serialized copy on the connection, undeclared.
            connections[alias]._test_serialized_contents = contents  # type: ignore[attr-defined]


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
