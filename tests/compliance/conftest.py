import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_html_cache():
    cache.clear()
    yield
    cache.clear()
