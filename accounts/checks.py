"""System checks for what the sign-in code relies on."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

DATABASE_SESSION_ENGINES = ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db")


def sessions_in_database(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Enrolling or removing an authenticator signs the user's other sessions
    out by reading the stored sessions, which only the database engines allow."""
    if settings.SESSION_ENGINE in DATABASE_SESSION_ENGINES:
        return []
    return [
        Error(
            f"SESSION_ENGINE {settings.SESSION_ENGINE!r} keeps sessions where they cannot be listed.",
            hint="Use django.contrib.sessions.backends.db or cached_db.",
            id="accounts.E001",
        )
    ]
