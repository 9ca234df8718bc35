"""Canonical bytes and hashes of chained rows and links.

A row's canonical form is the JSON object of all its concrete fields (by
attribute name, so foreign keys appear as ids), with sorted keys, no
whitespace, UTF-8, and times as UTC ISO 8601 with microseconds. The same
function runs when a row is chained and when it is verified, on values read
back from the database, so the hash is of what is stored.

A personal field (see `ChainSpec.personal`) enters that object as
`{"salted_sha256": C}`, where C = SHA-256(salt || canonical JSON of the value)
and the salt is 32 random bytes kept apart from the chain: the chain commits
to the value without holding it, and deleting the salt with the value (the
retention purge) leaves a row that still hashes to its link.
"""

import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

GENESIS_HASH = "0" * 64
# The link format new links are written in. 1: seq, model, row, hashes, time,
# actor id. 2: also the actor's username at the time and the format itself.
LINK_FORMAT = 2


def utc_iso(value: datetime) -> str:
    if value.tzinfo is None:  # stored naive only with USE_TZ off; such times are UTC here
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plain(value: Any) -> Any:
    """A JSON-native rendering of a field value that does not depend on the database."""
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value // timedelta(microseconds=1)
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def canonical_json(data: Any) -> bytes:
    return json.dumps(plain(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def row_digest(fields: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(fields))


def commitment(salt: bytes, value: Any) -> str:
    """The salted commitment to a personal value: SHA-256(salt || value's canonical JSON)."""
    return sha256_hex(salt + canonical_json(value))


def hashed_fields(row: dict[str, Any], attnames: list[str], commitments: dict[str, str]) -> dict[str, Any]:
    """What a row's hash covers: each named field's stored value, or, for a
    personal field, its commitment. Used when a row is chained and when it is
    verified, so both hash the same object."""
    return {name: {"salted_sha256": commitments[name]} if name in commitments else row[name] for name in attnames}


def hashed_row_digest(row: dict[str, Any], attnames: list[str], commitments: dict[str, str] | None = None) -> str:
    return row_digest(hashed_fields(row, attnames, commitments or {}))


def link_digest(**fields: Any) -> str:
    """The hash of a link (its fields as `link_fields` takes them). It covers
    the previous link's hash, so changing any earlier link or row changes every
    hash after it. Each format hashes the fields it had, so links written
    before a format change still verify."""
    return sha256_hex(canonical_json(link_fields(**fields)))


def link_fields(
    *,
    seq: int,
    model_label: str,
    row_pk: int,
    row_hash: str,
    prev_hash: str,
    recorded_at: datetime,
    actor_id: int | None,
    actor_username: str = "",
    format: int = 1,
) -> dict[str, Any]:
    """What a link's hash covers, by its format (see `LINK_FORMAT`)."""
    if format not in (1, 2):
        raise ValueError(f"Unknown link format {format}.")
    fields: dict[str, Any] = {
        "seq": seq,
        "model": model_label,
        "row_pk": row_pk,
        "row_hash": row_hash,
        "prev_hash": prev_hash,
        "recorded_at": recorded_at,
        "actor_id": actor_id,
    }
    if format >= 2:
        fields["format"] = format
        fields["actor_username"] = actor_username
    return fields
