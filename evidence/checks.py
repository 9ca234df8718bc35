"""Start-up checks of the evidence signing key (run by `manage.py check`, `migrate`, `runserver`).

- evidence.E001: DEBUG is off and EVIDENCE_SIGNING_KEY is unset. Production
  settings refuse to start without it; this names the same problem when DEBUG
  was turned off any other way, before the first checkpoint would fail.
- evidence.E002: EVIDENCE_SIGNING_KEY is set but is not a signing key.
- evidence.E003: an entry of EVIDENCE_TRUSTED_KEYS is not a verifier key, or
  one of EVIDENCE_REVOKED_KEYS is not KEYHASH@ISO-TIME.
"""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from . import tlog
from .signing import configured_revocations

KEY_HINT = "Create a key with `manage.py evidence_keygen` and set EVIDENCE_SIGNING_KEY to the private key it prints."


@register("evidence")
def check_signing_key(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if app_configs is not None and not any(config.name == "evidence" for config in app_configs):
        return []
    text = settings.EVIDENCE_SIGNING_KEY
    if not text:
        if settings.DEBUG:
            return []
        return [Error("EVIDENCE_SIGNING_KEY is not set.", hint=KEY_HINT, id="evidence.E001")]
    try:
        tlog.signer_from_string(text)
    except tlog.NoteError as exc:
        return [Error(f"EVIDENCE_SIGNING_KEY is not a valid signing key: {exc}.", hint=KEY_HINT, id="evidence.E002")]
    return []


@register("evidence")
def check_trust_configuration(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if app_configs is not None and not any(config.name == "evidence" for config in app_configs):
        return []
    errors: list[CheckMessage] = []
    for text in settings.EVIDENCE_TRUSTED_KEYS:
        try:
            tlog.verifier_from_string(text.strip())
        except tlog.NoteError as exc:
            errors.append(
                Error(
                    f"EVIDENCE_TRUSTED_KEYS: {text!r} is not a verifier key: {exc}.",
                    hint="List the verifier keys `manage.py evidence_keygen` printed for past signing keys.",
                    id="evidence.E003",
                )
            )
    try:
        configured_revocations()
    except ImproperlyConfigured as exc:
        errors.append(Error(str(exc), id="evidence.E003"))
    return errors
