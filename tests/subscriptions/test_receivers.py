"""Subscriptions hears of publications through compliance's events: the notices task
is queued after the approval commits, and going live re-drives a lost one."""

from datetime import timedelta

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from compliance.events import publication_approved
from compliance.models import Publication
from compliance.tasks import GO_LIVE_SENT, publication_go_live
from subscriptions.models import SubprocessorNotice
from tests.factories import SubprocessorFactory, publish_draft

from .helpers import subscribe

NOTICES_TASK = "subscriptions.tasks.send_publication_notices"


def queued_notice_tasks() -> list[dict]:
    return list(DBTaskResult.objects.filter(task_path=NOTICES_TASK).values_list("args_kwargs__kwargs", flat=True))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_notices_task_is_queued_once_the_approval_commits(clock, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    with transaction.atomic():
        publication = publish_draft(requester=editor, approver=approver, effective_at=clock.now + timedelta(days=30))
        assert queued_notice_tasks() == [{"publication_id": published.pk}]  # version 1's, from the fixture
    assert queued_notice_tasks() == [{"publication_id": published.pk}, {"publication_id": publication.pk}]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rolled_back_approval_queues_no_notices(clock, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    with pytest.raises(RuntimeError), transaction.atomic():
        publish_draft(requester=editor, approver=approver)
        raise RuntimeError("the admin's transaction fails after the approval")
    assert (queued_notice_tasks(), Publication.objects.count()) == ([{"publication_id": published.pk}], 1)


@pytest.mark.django_db
def test_going_live_writes_the_notices_a_lost_queueing_left_owed(
    clock, published, editor, approver, django_capture_on_commit_callbacks
):
    subscribe("subs@example.org", "subprocessors")
    SubprocessorFactory.create(actor=editor)
    # The approval commits, but its receiver never runs (the process died right after the commit).
    publication_approved.disconnect(dispatch_uid="subscriptions.publication_approved")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            publication = publish_draft(requester=editor, approver=approver, effective_at=clock.now + timedelta(days=3))
    finally:
        from subscriptions.receivers import on_publication_approved

        publication_approved.connect(on_publication_approved, dispatch_uid="subscriptions.publication_approved")
    assert (queued_notice_tasks(), SubprocessorNotice.objects.count()) == ([], 0)

    clock.advance(days=3)
    assert publication_go_live.call(publication.pk) == GO_LIVE_SENT
    assert publication_go_live.call(publication.pk) == GO_LIVE_SENT  # a second run writes nothing more

    assert list(SubprocessorNotice.objects.values_list("publication_id", "subscriber__email")) == [
        (publication.pk, "subs@example.org")
    ]
