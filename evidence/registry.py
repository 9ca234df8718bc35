"""Which tables are chained.

The history tables of every page-content model, and rows of the insert-only
record models listed in RECORD_MODELS (publications, purge runs, changes to
staff sign-in). Records are
named by dotted label and resolved when used, so a model that is not installed
yet is simply not chained. Ticket history is deliberately absent: personal data
of requesters never enters the chained policy history.
"""

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.options import Options

RECORD_MODELS = ("compliance.Publication", "evidence.PurgeRecord", "accounts.StaffSecurityEvent")
PUBLICATION_LABEL = "compliance.publication"

# Where each kind of record keeps its own time and acting user (first that exists).
_RECORD_TIME_FIELDS = ("snapshot_taken_at", "created_at", "ran_at")
_RECORD_USER_FIELDS = ("approved_by", "actor", "requested_by")


@dataclass(frozen=True)
class Chained:
    model: type[models.Model]
    label: str
    is_history: bool
    time_attname: str | None
    user_attname: str | None
    # For history rows: the content model whose versions they are.
    content_model: type[models.Model] | None = None

    @property
    def attnames(self) -> list[str]:
        """The fields a new row's hash covers: all concrete fields, sorted."""
        return sorted(f.attname for f in self.model._meta.concrete_fields)

    @property
    def content_meta(self) -> "Options[models.Model]":
        """The content model's options, for history rows (refused for records)."""
        if self.content_model is None:
            raise LookupError(f"{self.label} holds records, not versions of content.")
        return self.content_model._meta

    @property
    def content_pk_attname(self) -> str:
        """The column of a history row that names the content row it is a version of."""
        pk = self.content_meta.pk
        if pk is None:
            raise LookupError(f"{self.label}: the content model has no primary key.")
        return pk.attname

    @property
    def tracked_attnames(self) -> list[str]:
        """Fields of the content that a change can touch (history rows only)."""
        if self.content_model is None:
            return []
        return [f.attname for f in self.content_model._meta.concrete_fields]


def _first_attname(model: type[models.Model], names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if isinstance(field, models.Field):
            return field.attname
    return None


@cache
def chained_models() -> dict[str, Chained]:
    from compliance.models import CONTENT_MODELS

    result: dict[str, Chained] = {}
    for content_model in CONTENT_MODELS:
        history_model = content_model.history.model
        label = history_model._meta.label_lower
        result[label] = Chained(
            model=history_model,
            label=label,
            is_history=True,
            time_attname="history_date",
            user_attname="history_user_id",
            content_model=content_model,
        )
    for dotted in RECORD_MODELS:
        try:
            model = apps.get_model(dotted)
        except LookupError:
            continue  # not installed (yet); chained from the moment it exists
        label = model._meta.label_lower
        result[label] = Chained(
            model=model,
            label=label,
            is_history=False,
            time_attname=_first_attname(model, _RECORD_TIME_FIELDS),
            user_attname=_first_attname(model, _RECORD_USER_FIELDS),
        )
    return result


def read_rows(model: type[models.Model], pks: list[int], using: str = "default") -> dict[int, dict[str, Any]]:
    """The stored fields of the given rows (every concrete field, by attname)."""
    attnames = [f.attname for f in model._meta.concrete_fields]
    pk_name = model._meta.pk.attname
    rows = model._base_manager.using(using).filter(pk__in=pks).values(*attnames)
    return {row[pk_name]: row for row in rows}
