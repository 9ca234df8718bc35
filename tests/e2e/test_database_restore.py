"""Browser tests flush the database after each test; the next one starts from
what migrations created (the roles), also while the browser stays open."""

import pytest
from django.contrib.auth.models import Group

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.mark.parametrize("turn", ["first", "second"])
def test_each_browser_test_starts_with_the_roles(page, turn):
    assert Group.objects.filter(name="Compliance editor").exists(), turn
