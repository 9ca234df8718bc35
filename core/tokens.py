"""Secret link tokens (ticket status, verification, subscriptions, downloads).

A link token is `salted_hmac(SALT + purpose, nonce, SECRET_KEY, sha256)`,
256 bits, URL-safe base64. The database keeps only the nonce and the SHA-256
of the token: with the database alone (a leaked backup) no working link can
be made, yet the application can put the same link into every later mail
(`recover_token`) without storing it. Lookups go by `token_hash(raw)`.

Links mailed before tokens were derived through `salted_hmac` used
HMAC-SHA256(SECRET_KEY, "purpose:nonce"); their stored hashes still match, and
`recover_token` still rebuilds them, so no mailed link stops working.
"""

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.utils.crypto import salted_hmac

SALT = "core.tokens."


def new_nonce() -> str:
    return secrets.token_hex(16)  # 128 bits


def token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def _encode(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _derive(purpose: str, nonce: str, key: str) -> str:
    return _encode(salted_hmac(SALT + purpose, nonce, secret=key, algorithm="sha256").digest())


def _derive_legacy(purpose: str, nonce: str, key: str) -> str:
    return _encode(hmac.new(key.encode(), f"{purpose}:{nonce}".encode(), hashlib.sha256).digest())


def make_token(purpose: str, nonce: str) -> str:
    """The raw token for a new link; store `token_hash()` of it and the nonce."""
    return _derive(purpose, nonce, settings.SECRET_KEY)


def new_token(purpose: str) -> tuple[str, str]:
    """(nonce, token hash) for a new link of `purpose`."""
    nonce = new_nonce()
    return nonce, token_hash(make_token(purpose, nonce))


def _candidates(purpose: str, nonce: str) -> Iterator[str]:
    # After a SECRET_KEY rotation the old keys in SECRET_KEY_FALLBACKS still
    # rebuild links that were handed out.
    for key in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        yield _derive(purpose, nonce, key)
        yield _derive_legacy(purpose, nonce, key)


def recover_token(purpose: str, nonce: str, stored_hash: str) -> str:
    """The raw token whose hash is stored, or LookupError."""
    for raw in _candidates(purpose, nonce):
        if hmac.compare_digest(token_hash(raw), stored_hash):
            return raw
    raise LookupError("No configured key rebuilds this link token.")


# A raw token longer than this was never handed out: refused without a lookup.
RAW_TOKEN_MAX_LENGTH = 128


def pending_link_lock(
    queryset: Any,
    raw_token: str,
    *,
    valid_for: dt.timedelta,
    now: dt.datetime,
    hash_field: str = "confirm_token_hash",
    sent_field: str = "confirm_sent_at",
) -> Any:
    """The row of `queryset` whose pending single-use link is `raw_token`,
    locked (select_for_update, so call it in a transaction), or None when no
    row has it or the link was sent `valid_for` ago or longer. The confirmation
    links of subscribers and customer contacts both go through here."""
    if not raw_token or len(raw_token) > RAW_TOKEN_MAX_LENGTH:
        return None
    row = queryset.select_for_update().filter(**{hash_field: token_hash(raw_token)}).first()
    sent_at = getattr(row, sent_field, None) if row is not None else None
    if sent_at is None or sent_at + valid_for <= now:
        return None
    return row
