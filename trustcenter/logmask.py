"""Secret link tokens and mail addresses never reach a log.

Status, verification, download, confirmation and unsubscribe links carry their
secret in the URL path, and Django writes the path of every 4xx and 5xx answer
to the `django.request` logger (the development server and gunicorn's access
log write the request line too). Whoever reads the logs could open the link.

`configure` (the LOGGING_CONFIG hook) installs a log record factory that masks
those tokens in the message, its arguments and any traceback text the moment
a record is made, so every handler (console, files, a log shipper, a test's
capture) only ever sees the masked form. `MaskSecrets` is the same masking as a
filter, set on the handlers in LOGGING for records made without the factory.

Mail addresses (a requester's, a subscriber's: personal data) and bearer
tokens are masked the same way, wherever they appear in a record: a message,
an argument, an exception's text (an SMTP refusal names the recipient).
The factory also stamps each record with its request id (`trustcenter.logcontext`).
"""

import logging
import logging.config
import re
from collections.abc import Callable, Mapping
from typing import Any

from .logcontext import stamp_request_id

MASK = "[masked]"
EMAIL_MASK = "[email]"

# A path segment that is a secret: what follows these prefixes up to the next
# "/", "?", "#", quote or blank. Every route with a `token` parameter is listed
# (tests/security/test_log_masking.py checks this against the URL patterns).
SECRET_SEGMENT = re.compile(
    r"(/requests/(?:status|verify)/"
    r"|/subscribe/(?:confirm|unsubscribe)/"
    r"|/customers/confirm/"
    r"|/documents/[^/\s?#]+/download/)"
    r"([^/\s?#\"'<>]+)"
)
# Query values that may be secrets, should a link ever carry one there.
SECRET_QUERY = re.compile(
    r"([?&](?:token|key|secret|signature|sig|code|otp_token|password)=)([^&#\s\"'<>]+)", re.IGNORECASE
)
# A mail address: personal data of requesters and subscribers (and %-encoded in a URL, %40).
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+(?:@|%40)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
# A credential in an Authorization-style header value.
BEARER = re.compile(r"\b((?:Bearer|Token|Basic)\s+)([A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)


def mask(text: str) -> str:
    """`text` with every secret link token replaced by MASK, every mail address by EMAIL_MASK."""
    if "@" in text or "%40" in text:
        text = EMAIL.sub(EMAIL_MASK, text)
    if " " in text:
        text = BEARER.sub(rf"\g<1>{MASK}", text)
    if "/" not in text and "=" not in text:
        return text
    text = SECRET_SEGMENT.sub(rf"\g<1>{MASK}", text)
    return SECRET_QUERY.sub(rf"\g<1>{MASK}", text)


def _masked_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, bytes):
        return mask(value.decode("utf-8", "replace"))
    if value is None or isinstance(value, int | float | bool):
        return value
    # Anything else is formatted with %s or %r: mask what that would print,
    # and keep the object when nothing needs masking.
    shown = str(value)
    masked = mask(shown)
    return value if masked == shown else masked


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask the record in place: message, arguments and exception text."""
    if isinstance(record.msg, str):
        record.msg = mask(record.msg)
    elif record.msg is not None:
        record.msg = _masked_value(record.msg)
    args = record.args
    if isinstance(args, tuple):
        record.args = tuple(_masked_value(arg) for arg in args)
    elif isinstance(args, dict):
        # Mutated in place: gunicorn passes a dict subclass that answers missing keys.
        for key, value in list(args.items()):
            masked = _masked_value(value)
            if masked is not value:
                args[key] = masked
    elif isinstance(args, Mapping):
        record.args = {key: _masked_value(value) for key, value in args.items()}
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask(record.exc_text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    return record


class MaskSecrets(logging.Filter):
    """A logging filter that masks secret link tokens; it never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def install_record_factory() -> None:
    """Make every new log record masked (once per process)."""
    current: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(current, "masks_secrets", False):
        return

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return stamp_request_id(mask_record(current(*args, **kwargs)))

    masked_record.masks_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masked_record)


def configure(logging_settings: dict[str, Any]) -> None:
    """LOGGING_CONFIG: the masking record factory, then the LOGGING dict."""
    install_record_factory()
    logging.config.dictConfig(logging_settings)
