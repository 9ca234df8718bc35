"""The two database roles of a deployment, in the PostgreSQL test run.

The test database is created and migrated by the configured user (the schema
owner; a superuser here). The tests under `APP_ROLE_DIRS` then run the
application's connections as `APP_ROLE`, granted exactly what
`manage.py db_grant_app_role` grants in production. A test that plays the
database administrator opens `dba()`, a separate connection as the owner.

Emptying the database after a transactional test (Django's flush, a
TRUNCATE) is refused by the guards to every role; the test run does it as
the owner with `session_replication_role = replica`, which only a superuser
may set: the one path the application's role cannot take.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections

from evidence.db import app_role_grant, app_role_problems

APP_ROLE = "trustcenter_app"
APP_ROLE_PASSWORD = "trustcenter_app"  # a throwaway role of the test server, for servers that ask for one
TESTS_DIR = Path(__file__).resolve().parent
APP_ROLE_DIRS = (TESTS_DIR / "evidence", TESTS_DIR / "requests_app")

_owner: dict[str, Any] = {}


def runs_as_app_role(item: Any) -> bool:
    """Tests under `APP_ROLE_DIRS` run as the application's role, unless marked `db_owner`."""
    in_scope = any(directory in Path(item.path).parents for directory in APP_ROLE_DIRS)
    return in_scope and item.get_closest_marker("db_owner") is None


def prepare() -> None:
    """Create the application's role if missing and grant it its rights in the test database."""
    connection = connections[DEFAULT_DB_ALIAS]
    _owner.update(connection.settings_dict)
    with connection.cursor() as cursor:
        # Roles belong to the server, shared by test databases of parallel runs: create it once, race-free.
        cursor.execute(f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    app_role_grant(connection, APP_ROLE)
    problems = app_role_problems(connection, APP_ROLE)
    assert problems == [], problems


def is_prepared() -> bool:
    return bool(_owner)


def owner_user() -> str:
    return str(_owner["USER"])


def connect_as(user: str) -> None:
    """Close the default connection (of this thread) and log in as `user` from its next query on; threads
    opening connections of their own follow the same settings. Needs database access (unblocked)."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.settings_dict["USER"] == user:
        return
    if user == APP_ROLE:
        # A test that ran as the owner may have migrated back and forth: tables made again lack the grants.
        app_role_grant(connection, APP_ROLE)
    connection.close()
    connection.settings_dict["USER"] = user
    connections.settings[DEFAULT_DB_ALIAS]["USER"] = user
    connection.settings_dict["PASSWORD"] = APP_ROLE_PASSWORD if user == APP_ROLE else _owner.get("PASSWORD", "")
    connections.settings[DEFAULT_DB_ALIAS]["PASSWORD"] = connection.settings_dict["PASSWORD"]


@contextmanager
def dba() -> Iterator[psycopg.Connection]:
    """A connection of the owner (superuser) to the test database, autocommit: what the database
    administrator can do, outside the application's transaction."""
    settings = connections[DEFAULT_DB_ALIAS].settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        user=_owner["USER"],
        password=_owner.get("PASSWORD") or None,
        host=_owner.get("HOST") or "127.0.0.1",
        port=_owner.get("PORT") or 5432,
        autocommit=True,
    ) as conn:
        yield conn


def flush_as_dba(operations: Any, sql_list: list[str]) -> None:
    """Django's flush, as the owner with the triggers off (replaces `DatabaseOperations.execute_sql_flush`)."""
    with dba() as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        for sql in sql_list:
            conn.execute(sql)
