from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from compliance.services import publication_publish_initial, system_actor


class Clock:
    """A stand-in for `django.utils.timezone.now` that tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(autouse=True)
def _empty_html_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.fixture
def approver(make_staff):
    return make_staff("apollo", "Compliance approver")


@pytest.fixture
def published(seeded):
    """The reference content, published as version 1 as the seed command does."""
    return publication_publish_initial(actor=system_actor())
