"""Two publication requests at the same moment (PostgreSQL: row locks and a second connection)."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from compliance import services
from compliance.enums import PublicationRequestStatus
from compliance.models import PublicationRequest, Subprocessor
from tests.factories import save

# serialized_rollback: restore the roles that migrations created, for the tests that follow.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ADD_URL = "/admin/compliance/publicationrequest/add/"


def _another_connection_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    return row is not None and row[0] > 0


@contextmanager
def first_request_held_open(call: Callable[[], Any]) -> Iterator[list[Any]]:
    """Run `call` in another thread and connection and keep its transaction open
    until this thread's next statement waits on it, then commit. Yields the
    list that receives the other thread's result (or exception)."""
    outcome: list[Any] = []
    ready = threading.Event()

    def run() -> None:
        try:
            with transaction.atomic():
                outcome.append(call())
                ready.set()
                deadline = time.monotonic() + 20
                while not _another_connection_waits_for_a_lock():
                    if time.monotonic() > deadline:
                        raise AssertionError("the second request never waited for the first")
                    time.sleep(0.02)
        except Exception as exc:
            outcome.append(exc)
        finally:
            ready.set()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert ready.wait(20)
    try:
        yield outcome
    finally:
        thread.join(30)


@pytest.fixture
def draft_change(published, editor):
    save(Subprocessor(slug="fly-io", name="Fly.io", purpose="Application hosting", location="EU"), editor, "new host")


def test_the_second_of_two_simultaneous_requests_is_refused_with_a_reason(draft_change, editor):
    with (
        first_request_held_open(lambda: services.publication_request(summary="first", actor=editor)) as first,
        pytest.raises(ValidationError) as refused,
    ):
        services.publication_request(summary="second", actor=editor)

    assert [type(r) for r in first] == [PublicationRequest]
    assert [e.code for e in refused.value.error_list] == ["request_pending"]
    assert refused.value.messages == [
        "Another publication request was made at the same moment and is awaiting approval; it covers the whole draft."
    ]
    assert list(PublicationRequest.objects.values_list("summary", "status")) == [
        ("first", PublicationRequestStatus.PENDING)
    ]


def test_the_admin_shows_the_refusal_instead_of_an_error_page(draft_change, editor, editor_client):
    with first_request_held_open(lambda: services.publication_request(summary="first", actor=editor)):
        response = editor_client.post(ADD_URL, {"summary": "second"})

    assert response.status_code == 200
    assert "Another publication request was made at the same moment and is awaiting approval" in (
        response.content.decode()
    )
    assert list(PublicationRequest.objects.values_list("summary", flat=True)) == ["first"]
