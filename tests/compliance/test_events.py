"""PublicationApproved is sent after the approval commits, never for a rolled-back one."""

from datetime import timedelta

import pytest
from django.db import transaction

from compliance.events import PublicationApproved, PublicationLive, publication_approved, publication_live
from compliance.models import Publication, Subprocessor
from compliance.tasks import GO_LIVE_SENT, publication_go_live
from core.events import recorded
from tests.factories import publish_draft, save

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def add_subprocessor(actor) -> None:
    save(Subprocessor(slug="fly", name="Fly.io", purpose="Compute"), actor, "new provider")


def test_approval_is_announced_after_it_commits(clock, published, editor, approver):
    add_subprocessor(editor)
    moment = clock.now + timedelta(days=2)
    with recorded(publication_approved) as seen:
        with transaction.atomic():
            publication = publish_draft(requester=editor, approver=approver, effective_at=moment)
            assert seen == []
        assert seen == [PublicationApproved(publication_id=publication.pk, version=2, effective_at=moment)]


def test_a_rolled_back_approval_is_never_announced(clock, published, editor, approver):
    add_subprocessor(editor)
    with recorded(publication_approved) as seen, pytest.raises(RuntimeError), transaction.atomic():
        publish_draft(requester=editor, approver=approver)
        raise RuntimeError("the admin's transaction fails after the approval")
    assert (seen, Publication.objects.count()) == ([], 1)


def test_the_go_live_task_announces_the_publication_live(clock, published, editor, approver):
    add_subprocessor(editor)
    publication = publish_draft(requester=editor, approver=approver, effective_at=clock.now + timedelta(hours=1))
    clock.advance(hours=1)
    with recorded(publication_live) as seen:
        assert publication_go_live.call(publication.pk) == GO_LIVE_SENT
    assert seen == [PublicationLive(publication_id=publication.pk, version=2)]
