import importlib
import os
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from pytest_django.fixtures import validate_django_db

import accounts
from accounts.roles import sync_roles

from compliance.services import seed_load, system_actor
from tests.factories import SEED_DATA


def _db_order(item: pytest.Item) -> tuple[int, int]:
    """pytest-django's order (database tests, transactional tests, the rest),
    and among transactional tests those with serialized_rollback first.

    Such a test restores the database as migrated from a snapshot; a
    transactional test without it leaves an empty database behind whose
    content types, made again by later code, clash with that snapshot.
    """
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", [])
    transactional, serialized = False, "django_db_serialized_rollback" in fixtures
    if marker is not None:
        transaction, reset_sequences, _dbs, serialized_rollback, _apps = validate_django_db(marker)
        transactional, serialized = transaction or reset_sequences, serialized or serialized_rollback
    transactional = transactional or "transactional_db" in fixtures or "live_server" in fixtures
    if transactional:
        return (1, 0 if serialized else 1)
    return (0 if marker is not None or "db" in fixtures else 2, 0)


def pytest_collection_modifyitems(config, items):
    """Serialized-rollback tests first; PostgreSQL-only tests skip on SQLite
    (scripts/test runs them on PostgreSQL)."""
    items.sort(key=_db_order)
    if os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); CI runs it there")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_content_type_cache():
    """A transactional test may start after a flush: cached content type ids are stale."""
    ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seeded(db):
    """The reference content, loaded as the seed command does."""
    return seed_load(data=SEED_DATA, actor=system_actor())


@pytest.fixture
def make_staff(db, django_user_model):
    def make(username: str, *groups: str, superuser: bool = False):
        user = django_user_model.objects.create_user(
            username=username, password="correct-horse-battery", email=f"{username}@example.com",
            is_staff=True, is_superuser=superuser,
        )
        if groups and Group.objects.filter(name__in=groups).count() < len(set(groups)):
            _roles_as_migrated()  # a transactional test starts after a flush, without them
        for name in groups:
            user.groups.add(Group.objects.get(name=name))
        return user
    return make


def _roles_as_migrated() -> None:
    """Create the roles as the accounts migrations define them, in their order."""
    migrations = sorted(
        path.stem for path in (Path(accounts.__file__).parent / "migrations").glob("[0-9]*.py")
    )
    for name in migrations:
        roles = getattr(importlib.import_module(f"accounts.migrations.{name}"), "ROLES", None)
        if roles:
            sync_roles(django_apps, roles)


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
            connections[alias]._test_serialized_contents = contents
