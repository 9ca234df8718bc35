import pytest


@pytest.fixture
def auditor(make_staff):
    return make_staff("audrey", "Auditor")


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(auditor)
    return client
