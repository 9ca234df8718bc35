"""System checks for the published formats (run by `manage.py check`,
`runserver` and `migrate`).

- compliance.E001: SECURITY_TXT_EXPIRES_DAYS outside 1..364 (RFC 9116 wants
  `Expires` under a year ahead). settings.py refuses such a value from the
  environment; this catches one set any other way.
- compliance.E002: SECURITY_TXT_ENCRYPTION_URL is not an https URL.
- compliance.W002 (with --deploy): SITE_URL is not https, but RFC 9116 wants
  the `Canonical` and `Policy` URLs of security.txt to be https.
- compliance.W001: the live security.txt expires within SECURITY_TXT_WARN_DAYS
  days, or has expired. `Expires` is renewed by each publication, so this
  means nothing was published for a long time; publishing renews it.

W001 reads the database. It runs with every check, not only with
`--database`, because a lapsed `Expires` is the defect that goes unnoticed;
when the database is unreachable or not migrated yet it stays silent rather
than failing the command.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.db import DatabaseError
from django.utils import timezone

from .formats import MAX_EXPIRES_DAYS, security_txt_expires
from .selectors import live_publication


@dataclass(frozen=True)
class SecurityTxtExpiry:
    version: int
    expires_at: datetime
    days_left: int  # whole days until it lapses; negative once lapsed

    @property
    def expired(self) -> bool:
        return self.days_left < 0

    @property
    def needs_attention(self) -> bool:
        return self.days_left < settings.SECURITY_TXT_WARN_DAYS


def live_security_txt_expiry(now: datetime | None = None) -> SecurityTxtExpiry | None:
    """When the security.txt served now lapses; None before any publication. One query."""
    now = now if now is not None else timezone.now()
    publication = live_publication(now)
    if publication is None:
        return None
    expires_at = security_txt_expires(publication.effective_at, settings.SECURITY_TXT_EXPIRES_DAYS)
    return SecurityTxtExpiry(
        version=publication.version,
        expires_at=expires_at,
        days_left=(expires_at - now).days,
    )


def _applies(app_configs: Sequence[AppConfig] | None) -> bool:
    return app_configs is None or any(config.name == "compliance" for config in app_configs)


@register("compliance")
def check_formats_settings(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if not _applies(app_configs):
        return []
    messages: list[CheckMessage] = []
    days = settings.SECURITY_TXT_EXPIRES_DAYS
    if not isinstance(days, int) or not 1 <= days <= MAX_EXPIRES_DAYS:
        messages.append(
            Error(
                f"SECURITY_TXT_EXPIRES_DAYS is {days!r}; it must be a whole number from 1 to {MAX_EXPIRES_DAYS}.",
                hint="RFC 9116 recommends that security.txt expire less than a year ahead.",
                id="compliance.E001",
            )
        )
    url = settings.SECURITY_TXT_ENCRYPTION_URL
    if url and (urlsplit(url).scheme != "https" or not urlsplit(url).netloc):
        messages.append(
            Error(
                f"SECURITY_TXT_ENCRYPTION_URL must be an https URL of the key, not {url!r}.",
                hint="security.txt links to the key; the key itself is never put in the file.",
                id="compliance.E002",
            )
        )
    return messages


@register("compliance", deploy=True)
def check_site_url_https(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if not _applies(app_configs) or urlsplit(settings.SITE_URL).scheme == "https":
        return []
    return [
        Warning(
            f"SITE_URL is {settings.SITE_URL!r}; security.txt links built from it are not https.",
            hint="Set SITE_URL to the public https address of the site.",
            id="compliance.W002",
        )
    ]


@register("compliance")
def check_security_txt_expiry(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if not _applies(app_configs):
        return []
    try:
        expiry = live_security_txt_expiry()
    except DatabaseError:
        return []
    if expiry is None or not expiry.needs_attention:
        return []
    when = expiry.expires_at.isoformat()
    text = (
        f"security.txt expired on {when}."
        if expiry.expired
        else f"security.txt expires on {when}, in {expiry.days_left} days."
    )
    return [
        Warning(
            text,
            hint=(
                f"Its Expires is renewed by each publication (live: version {expiry.version}). "
                "Publish a new version to renew it."
            ),
            id="compliance.W001",
        )
    ]
