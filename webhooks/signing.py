"""Endpoint secrets and the Standard Webhooks signature.

A secret is 32 random bytes shown once as "whsec_<base64>" (the Standard
Webhooks format, which `standardwebhooks.Webhook` reads). It is stored sealed
with AES-GCM under a key derived from SECRET_KEY, so the database alone does
not let anyone sign a webhook. Rotating SECRET_KEY: keep the old key in
SECRET_KEY_FALLBACKS until every endpoint's secret was replaced; `unseal`
tries the fallbacks too.

`signed_headers` signs "id.timestamp.body" with HMAC-SHA256 through
`standardwebhooks.Webhook.sign` and returns the three headers.
"""

import base64
import datetime as dt
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils.crypto import salted_hmac
from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
_KEY_SALT = "webhooks.signing.secret-key"
_SEAL_VERSION = "v1"


class SecretUnreadable(Exception):
    """The sealed secret opens with no key of SECRET_KEY and SECRET_KEY_FALLBACKS."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(32)).decode()


def _key(secret_key: str) -> bytes:
    return salted_hmac(_KEY_SALT, "aes-gcm", secret=secret_key, algorithm="sha256").digest()


def seal(secret: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(settings.SECRET_KEY)).encrypt(nonce, secret.encode(), _SEAL_VERSION.encode())
    return f"{_SEAL_VERSION}:{base64.b64encode(nonce + sealed).decode()}"


def unseal(sealed: str) -> str:
    version, _, data = sealed.partition(":")
    if version != _SEAL_VERSION:
        raise SecretUnreadable("unknown seal")
    raw = base64.b64decode(data)
    for secret_key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        try:
            return AESGCM(_key(secret_key)).decrypt(raw[:12], raw[12:], _SEAL_VERSION.encode()).decode()
        except InvalidTag:
            continue
    raise SecretUnreadable("no key opens it")


def signed_headers(*, secret: str, webhook_id: str, body: str, at: dt.datetime) -> dict[str, str]:
    """The Standard Webhooks headers for `body` sent at `at` (an aware time)."""
    at = at.astimezone(dt.UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=webhook_id, timestamp=at, data=body),
    }
