"""Text as people type or upload it: one-line fields, addresses and file names.

One-line text: a line break in a one-line field is how a value escapes its
place: an Organization name with CR/LF adds `Contact:` lines to security.txt, a
requester's name with CR/LF splits a mail header. So one-line fields refuse
every C0 control character and DEL (`validate_single_line`, on the model
field, in every form and, on PostgreSQL, in a check constraint), and every
writer of a line-based format passes values through `single_line` as well, so
that a value stored before the rule existed cannot break out either.

Addresses (`clean_email`) and upload names (`clean_filename`) are cleaned once, here;
`mail_identity` names the mailbox an address reaches, for every counter keyed on one.
"""

import re
import unicodedata
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

# C0 controls (including TAB, LF, CR) and DEL. NUL is among them: PostgreSQL
# refuses it in text anyway, SQLite would store it.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_RUNS = re.compile(r"[\x00-\x1f\x7f]+")
# The same class as a PostgreSQL regular expression, for check constraints.
CONTROL_CHARACTERS_SQL = r"[\x01-\x1f\x7f]"

SINGLE_LINE_MESSAGE = "Use one line of text: line breaks, tabs and other control characters are not allowed here."


def validate_single_line(value: object) -> None:
    """Refuse a value that holds a line break, a tab or any other control character."""
    if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
        raise ValidationError(SINGLE_LINE_MESSAGE, code="control_characters")


# What XML 1.0 cannot carry at all (TAB, LF and CR it can).
XML_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    """`value` without the characters XML 1.0 forbids, which no feed reader could parse."""
    return XML_FORBIDDEN.sub("", value)


def single_line(value: object) -> str:
    """`value` as one line: each run of control characters becomes one space."""
    return CONTROL_RUNS.sub(" ", str(value)).strip() if value is not None else ""


class SingleLineCharField(models.CharField):
    """A CharField that refuses line breaks and control characters.

    It is a plain CharField to migrations (`deconstruct` names Django's class),
    so no migration imports project code; the database side of the rule is a
    check constraint that each app's migration adds on PostgreSQL.
    """

    default_validators = [validate_single_line]

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.CharField", args, kwargs


class SingleLineEmailField(models.EmailField):
    """An EmailField that refuses control characters (a trailing newline included)."""

    default_validators = [*models.EmailField.default_validators, validate_single_line]

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.EmailField", args, kwargs


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


def mail_identity(address: str) -> str:
    """The mailbox `address` reaches, as counters key it: lower-cased, without the
    "+tag" of the local part ("Alice+x@Example.com" is "alice@example.com").

    Mail servers deliver every plus-tag variant (and, in practice, every case)
    to one inbox, so a limit that counted them apart could be walked around.
    A local part that starts with "+" keeps it: there is nothing before it to
    deliver to. Anything that is not an address is only stripped and lower-cased."""
    text = str(address or "").strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or not local:
        return text
    mailbox = local.split("+", 1)[0]
    return f"{mailbox or local}@{domain}"


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
