"""The key that signs checkpoints, and the record of every key ever used.

The private key comes from `EVIDENCE_SIGNING_KEY` (never from the database,
so a database administrator cannot sign). In development, when it is unset,
one is generated once and kept in `EVIDENCE_SIGNING_KEY_FILE` under `var/`;
with DEBUG off an unset key is a configuration error (settings refuse to start
in production, and the system check `evidence.E001` names it otherwise).

Rotation: configure a new key; its first checkpoint records it (`SigningKey`)
and closes the validity period of the key used until then. Revocation:
`signing_key_revoke` marks a compromised key distrusted from a moment on.

Which keys count is configuration, not data: `trusted_verifier_keys` (the
current key and `EVIDENCE_TRUSTED_KEYS`) and `configured_revocations`
(`EVIDENCE_REVOKED_KEYS`). The `SigningKey` rows give the periods; a row the
configuration does not name, or a revocation lifted in the database, does not
make a key trusted.
"""

import contextlib
import os
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import DEFAULT_DB_ALIAS

from . import tlog
from .models import SigningKey


class SigningKeyRefused(Exception):
    """The configured key may not sign: it was revoked, or another key replaced it."""


@lru_cache(maxsize=4)
def _parse(text: str) -> tlog.Signer:
    return tlog.signer_from_string(text)


def _development_key(path: Path) -> str:
    """The key kept under var/, created (readable by its owner only) on first use."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    text = tlog.signer_generate(settings.EVIDENCE_LOG_ORIGIN).skey
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    return text


def configured_key_text() -> str:
    text = settings.EVIDENCE_SIGNING_KEY
    if text:
        return text
    if not settings.DEBUG:
        raise ImproperlyConfigured("EVIDENCE_SIGNING_KEY is not set; create one with `manage.py evidence_keygen`.")
    return _development_key(Path(settings.EVIDENCE_SIGNING_KEY_FILE))


def current_signer() -> tlog.Signer:
    """The configured signing key, parsed (cached per key string)."""
    try:
        return _parse(configured_key_text())
    except tlog.NoteError as exc:
        raise ImproperlyConfigured(f"EVIDENCE_SIGNING_KEY is not a valid signing key: {exc}") from exc


def trusted_verifier_keys() -> list[str]:
    """The verifier keys checkpoints may be signed with: the current key's (when one
    is configured here) and the past keys of `EVIDENCE_TRUSTED_KEYS`, without repeats."""
    vkeys: list[str] = []
    with contextlib.suppress(ImproperlyConfigured):  # a machine that only verifies holds no private key
        vkeys.append(current_signer().verifier.vkey)
    for text in settings.EVIDENCE_TRUSTED_KEYS:
        vkey = text.strip()
        if vkey and vkey not in vkeys:
            vkeys.append(vkey)
    return vkeys


def configured_revocations() -> dict[str, datetime]:
    """`EVIDENCE_REVOKED_KEYS` as {key hash: revoked from}; raises ImproperlyConfigured for a bad entry."""
    revoked: dict[str, datetime] = {}
    for entry in settings.EVIDENCE_REVOKED_KEYS:
        key_hash, _, moment = entry.strip().partition("@")
        try:
            when = datetime.fromisoformat(moment)
        except ValueError:
            when = None
        if len(key_hash) != 8 or when is None or when.tzinfo is None:
            raise ImproperlyConfigured(
                f"EVIDENCE_REVOKED_KEYS: {entry!r} is not KEYHASH@ISO-TIME with a time zone "
                "(as `evidence_key_revoke` prints it)."
            )
        key_hash = key_hash.lower()
        revoked[key_hash] = min(when, revoked.get(key_hash, when))
    return revoked


def effective_revocation(key: SigningKey, configured: dict[str, datetime]) -> tuple[datetime | None, str]:
    """From when `key` is distrusted and why: the earlier of its recorded revocation and
    the one in `configured` (from `configured_revocations`), or (None, "")."""
    moment = configured.get(key.key_hash)
    if moment is not None and (key.revoked_from is None or moment < key.revoked_from):
        return moment, "EVIDENCE_REVOKED_KEYS"
    return key.revoked_from, key.revoked_reason


def revocation_line(key: SigningKey) -> str:
    """The entry of `EVIDENCE_REVOKED_KEYS` that keeps this key's revocation outside the database."""
    assert key.revoked_from is not None
    return f"{key.key_hash}@{key.revoked_from.isoformat()}"


def signing_key_register(signer: tlog.Signer, *, at: datetime, using: str = DEFAULT_DB_ALIAS) -> SigningKey:
    """The record of `signer`'s key, created on its first checkpoint.

    Run under the chain head lock (by `checkpoint_sign`). A new key closes the
    validity period of every key still open. Raises SigningKeyRefused for a
    key revoked by `at` or replaced before `at`: a leaked old key must not
    sign again just because someone configured it.
    """
    vkey = signer.verifier.vkey
    revoked_from = configured_revocations().get(signer.key_hash)
    if revoked_from is not None and at >= revoked_from:
        raise SigningKeyRefused(
            f"The signing key {signer.name}+{signer.key_hash} was revoked from {revoked_from.isoformat()} "
            "(EVIDENCE_REVOKED_KEYS)."
        )
    key = SigningKey.objects.using(using).filter(vkey=vkey).first()
    if key is not None:
        if key.revoked_from is not None and at >= key.revoked_from:
            raise SigningKeyRefused(f"The signing key {key} was revoked from {key.revoked_from.isoformat()}.")
        if key.valid_until is not None and at > key.valid_until:
            raise SigningKeyRefused(f"The signing key {key} was replaced on {key.valid_until.isoformat()}.")
        return key
    SigningKey.objects.using(using).filter(valid_until__isnull=True).update(valid_until=at)
    return SigningKey.objects.using(using).create(key_hash=signer.key_hash, name=signer.name, vkey=vkey, valid_from=at)


def signing_key_revoke(*, key_hash: str, revoked_from: datetime, reason: str) -> SigningKey:
    """Distrust the key with this key hash from `revoked_from` on.

    Side effects: the key's `revoked_from` and `revoked_reason` are set. An
    earlier revocation time may replace a later one, never the reverse (a
    revocation is not taken back). Checkpoints it signed before that time
    still count; those from then on are reported by `verify_chain`.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError("Give the reason for revoking the key.", code="reason_required")
    keys = list(SigningKey.objects.filter(key_hash=key_hash.lower()))
    if len(keys) != 1:
        raise ValidationError(
            "No signing key has the key hash %(hash)s." if not keys else "Several keys have the key hash %(hash)s.",
            code="unknown_key",
            params={"hash": key_hash},
        )
    key = keys[0]
    if key.revoked_from is not None and key.revoked_from <= revoked_from:
        raise ValidationError(
            "The key is already revoked from %(when)s.", code="already_revoked", params={"when": key.revoked_from}
        )
    key.revoked_from, key.revoked_reason = revoked_from, reason[:300]
    key.save(update_fields=["revoked_from", "revoked_reason"])
    return key
