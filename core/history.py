"""Change history that cannot be skipped, and who it names.

Tracked models (simple-history) use `TrackedQuerySet`, which refuses the bulk
writes that would bypass history. Services call `stamp_history` before saving
so history rows carry the acting user and the reason from the shell, commands
and tests alike. `system_actor` is the account commands and scheduled jobs act
as, so that a history row always names someone.
"""

from typing import Any, NoReturn

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import models

# simple-history stores the reason in a 100-character-plus text column; long
# reasons are cut rather than refused here (services bound them first).
CHANGE_REASON_MAX_LENGTH = 1000


class HistoryBypassError(TypeError):
    """Raised by writes that would change tracked rows without a history row."""


class TrackedQuerySet(models.QuerySet):
    """QuerySet for history-tracked models: bulk writes that skip simple-history
    are refused, so the change history stays complete."""

    def _refuse(self, name: str) -> NoReturn:
        raise HistoryBypassError(
            f"{self.model.__name__}.objects.{name}() would skip the change history; "
            "save each row through a service instead."
        )

    def update(self, **kwargs: Any) -> NoReturn:
        self._refuse("update")

    def bulk_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse("bulk_create")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse("bulk_update")


def stamp_history(obj: models.Model, *, actor: User | None, reason: str) -> None:
    """Name the acting user and the reason on the history row the next save writes."""
    obj._history_user = actor  # type: ignore[attr-defined]
    obj._change_reason = reason[:CHANGE_REASON_MAX_LENGTH]  # type: ignore[attr-defined]


def system_actor() -> User:
    """The account that management commands and scheduled jobs act as.

    It cannot log in: it exists so that history rows always name an actor.
    """
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=settings.SYSTEM_ACTOR_USERNAME,
        defaults={"is_active": False, "first_name": "System"},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
