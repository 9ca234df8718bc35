from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from compliance.services import publication_publish_initial, system_actor


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(autouse=True)
def _subscription_settings(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.SITE_URL = "https://trust.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "trust@example.com"
    settings.UNSUBSCRIBE_MAILTO = ""
    settings.STAFF_NOTIFY_EMAILS = []
    settings.TIME_ZONE = "UTC"
    settings.HOLIDAY_COUNTRY = "US"
    settings.SUBPROCESSOR_OBJECTION_DAYS = 30
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))  # a Monday
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.fixture
def approver(make_staff):
    return make_staff("apollo", "Compliance approver")


@pytest.fixture
def published(seeded):
    return publication_publish_initial(actor=system_actor())
