"""Secret link tokens for requesters.

A link token is HMAC-SHA256(SECRET_KEY, purpose + random nonce), 256 bits.
The database keeps the nonce and the SHA-256 of the token: with the database
alone (a leaked backup) no working link can be made, yet the application can
put the same link into every later mail without storing it.
"""

import base64
import hashlib
import hmac
import secrets

from django.conf import settings

STATUS = "status"
VERIFY = "verify"


def new_nonce() -> str:
    return secrets.token_hex(16)  # 128 bits


def token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def _derive(purpose: str, nonce: str, key: str) -> str:
    digest = hmac.new(key.encode(), f"{purpose}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_token(purpose: str, nonce: str) -> str:
    return _derive(purpose, nonce, settings.SECRET_KEY)


def recover_token(purpose: str, nonce: str, stored_hash: str) -> str:
    """The raw token whose hash is stored; after a SECRET_KEY rotation the old
    keys in SECRET_KEY_FALLBACKS still rebuild links that were handed out."""
    for key in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        raw = _derive(purpose, nonce, key)
        if hmac.compare_digest(token_hash(raw), stored_hash):
            return raw
    raise LookupError("No configured key rebuilds this link token.")


def status_url(raw_token: str) -> str:
    return f"{settings.SITE_URL}/requests/status/{raw_token}/"


def verify_url(raw_token: str) -> str:
    return f"{settings.SITE_URL}/requests/verify/{raw_token}/"
