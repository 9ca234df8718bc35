from datetime import UTC, datetime

import pytest
from django.core.cache import cache

from compliance.models import Control
from tests.factories import SubprocessorFactory, publish_draft, save


@pytest.fixture(autouse=True)
def _empty_html_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def three_versions(clock, published, editor, approver):
    """v1 on 1 June 09:00, v2 on 3 June 10:00, v3 on 3 June 15:00 (UTC)."""
    clock.set(datetime(2026, 6, 3, 9, 0, tzinfo=UTC))
    SubprocessorFactory.create(actor=editor, slug="fly", name="Fly.io")
    clock.set(datetime(2026, 6, 3, 10, 0, tzinfo=UTC))
    v2 = publish_draft(requester=editor, approver=approver, summary="Add Fly.io")
    clock.set(datetime(2026, 6, 3, 11, 0, tzinfo=UTC))
    breach = Control.objects.get(slug="breach-notification")
    breach.body = breach.body.replace("72 hours", "48 hours")
    save(breach, editor, "faster notice")
    clock.set(datetime(2026, 6, 3, 15, 0, tzinfo=UTC))
    v3 = publish_draft(requester=editor, approver=approver, summary="Notify within 48 hours")
    return published, v2, v3
