"""Staff see, per publication, the notices sent and the objections received."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from subscriptions import services
from tests.factories import SubprocessorFactory, publish_draft

from .helpers import subscribe

pytestmark = pytest.mark.django_db

URL = "/admin/subscriptions/publicationnotices/"


@pytest.fixture
def root(make_staff):
    return make_staff("root", superuser=True)


@pytest.fixture
def with_notices(clock, published, editor, approver):
    subscribe("all@example.org", "all")
    subscribe("subs@example.org", "subprocessors")
    SubprocessorFactory.create(actor=editor)
    publication = publish_draft(requester=editor, approver=approver, effective_at=clock.now + timedelta(days=30))
    services.publication_notices_send(publication_id=publication.pk)
    services.objection_submit(
        publication=publication,
        subprocessor_slug="fly-io",
        data={
            "requester_name": "Olga",
            "requester_email": "olga@example.de",
            "legal_entity": "Example GmbH",
            "details": "No.",
        },
        submission_token="objection-token-admin-000001",
    )
    return publication


def test_the_version_list_counts_notices_and_objections(client, root, with_notices):
    client.force_login(root)

    response = client.get(URL)

    rows = {
        obj.version: (obj.notice_total, obj.notice_subprocessor, obj.objection_total)
        for obj in response.context["cl"].result_list
    }
    assert rows == {2: (2, 2, 1), 1: (0, 0, 0)}
    html = response.content.decode()
    assert f'href="/admin/subscriptions/subprocessornotice/?publication__id__exact={with_notices.pk}">2</a>' in html


def test_the_version_page_lists_the_objection_tickets(client, root, with_notices):
    client.force_login(root)

    html = client.get(f"{URL}{with_notices.pk}/change/").content.decode()

    assert ">OBJ-2026-000001</a>" in html
    assert "Fly.io" in html


def test_the_version_list_runs_a_fixed_number_of_queries(client, root, with_notices, editor, approver):
    client.force_login(root)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for slug in ("a", "b"):
        SubprocessorFactory.create(actor=editor, slug=f"sub-{slug}", name=f"Sub {slug}")
        publish_draft(requester=editor, approver=approver)
    with CaptureQueriesContext(connection) as more:
        client.get(URL)

    assert len(more) == len(few)


def test_a_compliance_editor_sees_notice_counts_but_not_subscribers(editor_client, with_notices):
    assert editor_client.get(URL).status_code == 200
    assert editor_client.get("/admin/subscriptions/subscriber/").status_code == 403
    assert editor_client.get("/admin/subscriptions/subprocessornotice/").status_code == 403
