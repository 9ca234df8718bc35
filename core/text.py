"""Cleaning of what people type or upload: addresses and file names."""

import re
import unicodedata
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

EMAIL_MAX_LENGTH = 254


def clean_email(value: Any, *, field: str = "Email", required: bool = True) -> str:
    """A valid address, stripped; "" when optional and empty. Refusals name `field`."""
    text = str(value or "").strip()
    if not text:
        if required:
            raise ValidationError(f"{field} is required.", code=f"{field.lower().replace(' ', '_')}_required")
        return ""
    if len(text) > EMAIL_MAX_LENGTH:
        raise ValidationError(f"{field} is not a valid address.", code="email_invalid")
    try:
        validate_email(text)
    except ValidationError:
        raise ValidationError(f"{field} is not a valid address.", code="email_invalid") from None
    return text


def clean_filename(
    name: str, *, suffix: str = ".pdf", default: str = "document", max_stem: int = 100, ascii_only: bool = False
) -> str:
    """A safe display and download name: no path, no control or odd characters,
    at most `max_stem` characters before `suffix`, which it always ends in.

    `ascii_only` keeps letters, digits, "-", "_" and "." only: for a
    Content-Disposition header that every browser and disk takes as is."""
    base = PurePath(str(name or "").replace("\\", "/")).name
    base = unicodedata.normalize("NFKC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    if ascii_only:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")
    else:
        base = re.sub(r"[^\w.\- ()]+", "_", base).strip(" .")
    stem = base[: -len(suffix)] if suffix and base.lower().endswith(suffix) else base
    stem = stem[:max_stem].strip(" ._" if ascii_only else " .") or default
    return f"{stem}{suffix}"
