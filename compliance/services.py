"""Every write to page content goes through here, with an actor and a reason.

Each write runs in a transaction and leaves exactly one history row that names
the acting user and the reason for the change.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction

REASON_MAX_LENGTH = 500
SEED_REASON = "initial content import"


def clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            "Give a reason for this change; it is recorded in the history.",
            code="reason_required",
        )
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            f"Keep the reason under {REASON_MAX_LENGTH} characters.", code="reason_too_long"
        )
    return reason


def _stamp(obj: models.Model, *, actor: AbstractBaseUser, reason: str) -> None:
    obj._history_user = actor  # type: ignore[attr-defined]
    obj._change_reason = reason  # type: ignore[attr-defined]


def content_save(*, obj: models.Model, actor: AbstractBaseUser, reason: str) -> models.Model:
    """Validate and save a content row (create or update).

    Side effects: one history row carrying `actor` and `reason`.
    """
    reason = clean_reason(reason)
    obj.full_clean()
    with transaction.atomic():
        _stamp(obj, actor=actor, reason=reason)
        obj.save()
    return obj


def content_delete(*, obj: models.Model, actor: AbstractBaseUser, reason: str) -> None:
    """Delete a content row.

    Side effects: one history row of type "deleted" carrying `actor` and `reason`.
    """
    reason = clean_reason(reason)
    with transaction.atomic():
        _stamp(obj, actor=actor, reason=reason)
        obj.delete()


def system_actor() -> AbstractBaseUser:
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


def content_get_or_create(
    *, model: type[models.Model], lookup: dict[str, Any], values: dict[str, Any],
    actor: AbstractBaseUser, reason: str,
) -> tuple[models.Model, bool]:
    """Create the row matching `lookup` with `values` unless it exists.

    An existing row is left as it is, so staff edits are never overwritten.
    Side effects: one history row for a created row; none otherwise.
    """
    existing = model._default_manager.filter(**lookup).first()
    if existing is not None:
        return existing, False
    obj = model(**lookup, **values)
    return content_save(obj=obj, actor=actor, reason=reason), True


def seed_load(*, data: dict[str, Any], actor: AbstractBaseUser, reason: str = SEED_REASON) -> dict[str, int]:
    """Load page content from a seed document; rows that exist are left alone.

    Returns how many rows were created per kind. Running it twice creates
    nothing the second time. Side effects: one history row per created row.
    """
    from .models import (
        Certification, ContactRoute, Control, DataHandlingRow, GdprFact, Organization,
        Section, Subprocessor,
    )

    created: dict[str, int] = {}

    def put(kind: str, model: type[models.Model], lookup: dict[str, Any], values: dict[str, Any]) -> None:
        _, was_created = content_get_or_create(
            model=model, lookup=lookup, values=values, actor=actor, reason=reason
        )
        created[kind] = created.get(kind, 0) + int(was_created)

    with transaction.atomic():
        put("organization", Organization, {"singleton": True}, dict(data["organization"]))
        for row in data["sections"]:
            row = dict(row)
            put("sections", Section, {"key": row.pop("key")}, row)
        sections = {s.key: s for s in Section.objects.all()}
        for row in data["controls"]:
            row = dict(row)
            row["section"] = sections[row["section"]]
            put("controls", Control, {"slug": row.pop("slug")}, row)
        for kind, model in (
            ("certifications", Certification),
            ("subprocessors", Subprocessor),
            ("data_handling", DataHandlingRow),
            ("gdpr", GdprFact),
            ("contact_routes", ContactRoute),
        ):
            for row in data[kind]:
                row = dict(row)
                put(kind, model, {"slug": row.pop("slug")}, row)
    return created
