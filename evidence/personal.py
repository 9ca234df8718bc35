"""Personal data in chained rows: salted commitments instead of values.

A model names its personal fields in its `ChainSpec(personal=...)`. When such
a row is chained, each personal field gets a fresh 32-byte salt
(`PersonalSalt`, one row per row and field) and the row's hash covers
C = SHA-256(salt || canonical value) in place of the value; the commitments
are kept with the link (`PersonalCommitment`, append-only). So:

- while the salt exists, the verifier checks the stored value against C: a
  personal value rewritten behind the application's back is reported;
- the retention purge rewrites the values and deletes their salts
  (`personal_data_forget`): the row still hashes to its link from the stored
  commitments, and nothing left in the database reveals or confirms the value
  (without the salt, C says nothing about it, not even for a guessed address).
"""

import secrets
from collections import defaultdict
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet

from .canonical import commitment
from .models import PersonalCommitment, PersonalSalt
from .registry import Chained, chained_models

SALT_BYTES = 32


def personal_commit(*, chained: Chained, row_pk: int, row: dict[str, Any], using: str) -> dict[str, str]:
    """Salt and commit the personal fields of a row being chained; returns the
    commitments its hash covers (empty for a model without personal fields).
    Side effects: one PersonalSalt per personal field, one PersonalCommitment."""
    if not chained.personal:
        return {}
    salts = {name: secrets.token_bytes(SALT_BYTES) for name in chained.personal}
    PersonalSalt.objects.using(using).bulk_create(
        PersonalSalt(model_label=chained.label, row_pk=row_pk, field=name, salt=salt) for name, salt in salts.items()
    )
    commitments = {name: commitment(salt, row[name]) for name, salt in salts.items()}
    PersonalCommitment.objects.using(using).create(model_label=chained.label, row_pk=row_pk, commitments=commitments)
    return commitments


def personal_data_forget(rows: "QuerySet[Any]", *, using: str = DEFAULT_DB_ALIAS) -> int:
    """Delete the salts of the personal fields of `rows` (rows of a chained
    model: a history model's rows, or records), before or as their personal
    values are purged. Their chain still verifies from the commitments; their
    values are no longer checked. Returns how many salts were deleted."""
    label = rows.model._meta.label_lower
    if label not in chained_models():
        raise LookupError(f"{label} is not chained.")
    pks = list(rows.values_list("pk", flat=True))
    deleted, _ = PersonalSalt.objects.using(using).filter(model_label=label, row_pk__in=pks).delete()
    return deleted


def commitments_of(label: str, pks: list[int]) -> dict[int, dict[str, str]]:
    """The stored commitments of these rows, by row."""
    rows = PersonalCommitment.objects.filter(model_label=label, row_pk__in=pks).values_list("row_pk", "commitments")
    return dict(rows)


def salts_of(label: str, pks: list[int]) -> dict[int, dict[str, bytes]]:
    """The salts still held for these rows, by row and field."""
    salts: dict[int, dict[str, bytes]] = defaultdict(dict)
    for row_pk, name, salt in PersonalSalt.objects.filter(model_label=label, row_pk__in=pks).values_list(
        "row_pk", "field", "salt"
    ):
        salts[row_pk][name] = bytes(salt)
    return salts


def rewritten_field(row: dict[str, Any], commitments: dict[str, str], salts: dict[str, bytes]) -> str | None:
    """The first personal field whose value no longer matches its commitment
    while its salt is held (rewritten outside the purge), if any."""
    for name in sorted(salts):
        if name in commitments and name in row and commitment(salts[name], row[name]) != commitments[name]:
            return name
    return None
