"""What "the database is unavailable" means, for the web answer and the worker.

A restarted, failed-over or unreachable PostgreSQL shows up in Django as
`OperationalError` (connection refused or terminated, server shutting down)
or `InterfaceError` (a connection that was already closed under us). Neither
is a bug in the request: the web answers 503 with `Retry-After`
(`trustcenter.middleware.DatabaseUnavailableMiddleware`) and the task worker
closes its connections, waits and reconnects (`manage.py run_worker`).
"""

from django.db import InterfaceError, OperationalError, connections

DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` says the database could not be reached or dropped the connection."""
    return isinstance(exc, DATABASE_UNAVAILABLE)


def close_all_connections() -> None:
    """Close every connection of this thread, broken ones included, so that the next
    query opens a new one. Errors while closing a dead connection are ignored."""
    for conn in connections.all(initialized_only=True):
        try:
            conn.close()
        except DATABASE_UNAVAILABLE:
            # Closing a connection the server already dropped can fail; it is gone either way.
            conn.connection = None
