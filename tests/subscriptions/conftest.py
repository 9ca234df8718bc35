import pytest
from django.core.cache import cache


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
