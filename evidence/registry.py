"""Which tables are chained: each app declares it on its own models.

The evidence ledger imports no other app. A model joins the chain by carrying
a `ChainSpec` as its `chain_spec` class attribute, which evidence discovers
through the app registry (`django.apps`) when the chain is first used:

- `ChainSpec(history=True)` on a history-tracked model (simple-history): every
  version row of it is chained (page content, for instance).
- `ChainSpec(time_field=..., user_field=..., action=...)` on an insert-only
  record model: each row is chained when it is created (publications, purge
  runs). `publishes=True` marks the one record kind that takes earlier changes
  live; the audit log shows which of them carried each change. Such a model
  has a `version` and an `effective_at` field.
- `personal=("requester_email", ...)` on either kind: fields holding personal
  data that the retention purge may rewrite. The chain covers a salted
  commitment to each such value instead of the value (see `evidence.personal`),
  so a purged row still verifies; its salt is deleted with the data.

The link is written in the same transaction as the row, by the receivers in
`evidence.receivers` (see there why a receiver). A model without a spec is
not chained.
"""

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models.options import Options

SPEC_ATTRIBUTE = "chain_spec"


@dataclass(frozen=True)
class ChainSpec:
    """How a model's rows enter the evidence chain (set as `chain_spec` on the model)."""

    # Chain the model's simple-history rows instead of its own rows.
    history: bool = False
    # Records only: the field holding the row's own time and the acting user (a foreign key), if any.
    time_field: str | None = None
    user_field: str | None = None
    # Records only: what the audit log says happened ("published", "purged history").
    action: str = "recorded"
    # Records only: this kind of record takes earlier changes live.
    publishes: bool = False
    # Fields of the chained rows (of the history rows, with `history`) that hold
    # personal data: chained as salted commitments, so the purge may rewrite them.
    personal: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chained:
    model: type[models.Model]
    label: str
    is_history: bool
    time_attname: str | None
    user_attname: str | None
    # For history rows: the content model whose versions they are.
    content_model: type[models.Model] | None = None
    action: str = "recorded"
    publishes: bool = False
    # Attribute names of the personal fields (see ChainSpec.personal).
    personal: tuple[str, ...] = ()

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


def _attname(model: type[models.Model], name: str | None) -> str | None:
    if name is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        field = None
    if not isinstance(field, models.Field):
        raise ImproperlyConfigured(f"{model._meta.label}.{SPEC_ATTRIBUTE} names no field {name!r}.")
    return field.attname


def _personal(model: type[models.Model], spec: ChainSpec) -> tuple[str, ...]:
    return tuple(sorted(name for name in (_attname(model, field) for field in spec.personal) if name))


def declared_specs() -> list[tuple[type[models.Model], ChainSpec]]:
    """Every installed model with a table of its own that declares a ChainSpec
    (itself or through an abstract base), in app registry order. Proxies share
    their model's table and its links, so they are not chained again."""
    found = []
    for model in apps.get_models():
        spec = getattr(model, SPEC_ATTRIBUTE, None)
        if isinstance(spec, ChainSpec) and not model._meta.proxy:
            found.append((model, spec))
    return found


@cache
def chained_models() -> dict[str, Chained]:
    """The chained tables by label: the history tables first, then the records."""
    history: dict[str, Chained] = {}
    records: dict[str, Chained] = {}
    for model, spec in declared_specs():
        if spec.history:
            history_model = getattr(model, "history", None)
            if history_model is None or not hasattr(history_model, "model"):
                raise ImproperlyConfigured(f"{model._meta.label} declares chained history but keeps none.")
            label = history_model.model._meta.label_lower
            history[label] = Chained(
                model=history_model.model,
                label=label,
                is_history=True,
                time_attname="history_date",
                user_attname="history_user_id",
                content_model=model,
                personal=_personal(history_model.model, spec),
            )
        else:
            label = model._meta.label_lower
            records[label] = Chained(
                model=model,
                label=label,
                is_history=False,
                time_attname=_attname(model, spec.time_field),
                user_attname=_attname(model, spec.user_field),
                action=spec.action,
                publishes=spec.publishes,
                personal=_personal(model, spec),
            )
    publishing = [c for c in records.values() if c.publishes]
    if len(publishing) > 1:
        raise ImproperlyConfigured(
            "Only one chained record kind may publish: " + ", ".join(c.label for c in publishing)
        )
    return history | records


def publishing_model() -> Chained | None:
    """The chained record kind that takes changes live (publications), if installed."""
    return next((c for c in chained_models().values() if c.publishes), None)


def read_rows(model: type[models.Model], pks: list[int], using: str = "default") -> dict[int, dict[str, Any]]:
    """The stored fields of the given rows (every concrete field, by attname)."""
    attnames = [f.attname for f in model._meta.concrete_fields]
    pk_name = model._meta.pk.attname
    rows = model._base_manager.using(using).filter(pk__in=pks).values(*attnames)
    return {row[pk_name]: row for row in rows}
