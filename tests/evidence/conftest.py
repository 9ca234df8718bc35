import pytest


@pytest.fixture
def auditor(make_staff):
    return make_staff("audrey", "Auditor")


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(auditor)
    return client


@pytest.fixture(autouse=True)
def _empty_cache():
    # The public page caches its HTML per version; tests start without it.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
