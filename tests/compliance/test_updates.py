"""Updates: written with a reason, asked for, approved by a second person who
publishes exactly the frozen text; every refusal changes nothing."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from compliance import services
from compliance.enums import PublicationRequestStatus
from compliance.events import UpdatePublished, update_published
from compliance.models import PublicationImmutableError, Update, UpdatePublication, UpdateRequest
from compliance.snapshot import snapshot_fingerprint
from core.events import recorded
from evidence.models import ChainLink
from tests.factories import publish_update, write_update


@pytest.fixture
def draft(seeded, editor):
    return write_update(editor=editor, concerns=["section:data-security", "subprocessor:supabase"])


def test_writing_an_update_records_who_and_why(draft, editor):
    version = Update.history.get(id=draft.pk)
    assert (version.history_user, version.history_change_reason, version.history_type) == (editor, "announce it", "+")
    assert draft.concerns == ["section:data-security", "subprocessor:supabase"]
    assert UpdatePublication.objects.count() == 0


def test_an_update_may_concern_only_what_the_page_has(seeded, editor):
    with pytest.raises(ValidationError) as caught:
        write_update(editor=editor, concerns=["subprocessor:nobody", "section:data-security"])
    assert caught.value.code == "concerns_unknown"
    with pytest.raises(ValidationError):
        write_update(editor=editor, slug="odd", concerns=["teapot:aws"])
    assert Update.objects.count() == 0


def test_asking_freezes_the_text_and_approval_publishes_it(django_capture_on_commit_callbacks, draft, editor, approver):
    request = services.update_request(update_id=draft.pk, actor=editor)
    assert request.content == {
        "slug": "tls-1-0-retired",
        "title": "TLS 1.0 retired",
        "body": "We no longer accept **TLS 1.0**.",
        "category": "security",
        "concerns": ["section:data-security", "subprocessor:supabase"],
        "effective_at": None,
    }
    assert request.content_sha256 == snapshot_fingerprint(request.content)
    asked = request.history.get()
    assert (asked.history_user, asked.history_change_reason, asked.status) == (
        editor,
        "publication asked for",
        PublicationRequestStatus.PENDING,
    )

    with recorded(update_published) as events, django_capture_on_commit_callbacks(execute=True):
        publication = services.update_approve(request_id=request.pk, actor=approver, fingerprint=request.content_sha256)

    assert events == [UpdatePublished(update_id=draft.pk, category="security")]
    assert (publication.revision, publication.content, publication.requested_by, publication.approved_by) == (
        1,
        request.content,
        editor,
        approver,
    )
    assert (publication.requested_by_username, publication.approved_by_username) == ("edna", "apollo")
    assert publication.first_published_at == publication.published_at
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.publication) == ("approved", approver, publication)
    decided = request.history.order_by("-history_id").first()
    assert (decided.history_user, decided.history_change_reason) == (approver, "approved and published")
    # Chained as evidence: the draft's version, the request's two versions, the publication.
    assert set(ChainLink.objects.values_list("model_label", flat=True)) >= {
        "compliance.historicalupdate",
        "compliance.historicalupdaterequest",
        "compliance.updatepublication",
    }
    assert ChainLink.objects.filter(model_label="compliance.updatepublication", row_pk=publication.pk).count() == 1


def test_approval_publishes_the_frozen_text_not_later_edits(draft, editor, approver):
    request = services.update_request(update_id=draft.pk, actor=editor)
    draft.title = "Changed after the request"
    services.update_save(obj=draft, actor=editor, reason="retitle")
    publication = services.update_approve(request_id=request.pk, actor=approver, fingerprint=request.content_sha256)
    assert publication.content["title"] == "TLS 1.0 retired"


def test_a_correction_is_the_next_revision_and_keeps_the_date(draft, editor, approver, clock):
    first = publish_update(update=draft, requester=editor, approver=approver)
    clock.advance(days=2)
    draft.body = "We no longer accept TLS 1.0 or 1.1."
    services.update_save(obj=draft, actor=editor, reason="correct it")
    second = publish_update(update=draft, requester=editor, approver=approver)
    assert (second.revision, second.first_published_at, second.published_at) == (
        2,
        first.published_at,
        clock.now,
    )


def test_the_requester_may_not_approve(draft, make_staff):
    both = make_staff("both", "Compliance editor", "Compliance approver")
    request = services.update_request(update_id=draft.pk, actor=both)
    with pytest.raises(ValidationError) as caught:
        services.update_approve(request_id=request.pk, actor=both, fingerprint=request.content_sha256)
    assert caught.value.code == "four_eyes_requester"
    assert UpdatePublication.objects.count() == 0
    assert UpdateRequest.objects.get().status == "pending"


def test_an_editor_of_the_update_may_not_approve_but_a_later_editor_may(draft, editor, make_staff):
    helper = make_staff("hal", "Compliance editor", "Compliance approver")
    draft.body = "Edited by hal."
    services.update_save(obj=draft, actor=helper, reason="help")
    request = services.update_request(update_id=draft.pk, actor=editor)
    with pytest.raises(ValidationError) as caught:
        services.update_approve(request_id=request.pk, actor=helper, fingerprint=request.content_sha256)
    assert caught.value.code == "four_eyes_editor"
    assert UpdatePublication.objects.count() == 0

    other = write_update(editor=editor, slug="other", title="Other")
    later = make_staff("lara", "Compliance editor", "Compliance approver")
    other_request = services.update_request(update_id=other.pk, actor=editor)
    other.body = "An edit after the request."
    services.update_save(obj=other, actor=later, reason="later")
    publication = services.update_approve(
        request_id=other_request.pk, actor=later, fingerprint=other_request.content_sha256
    )
    assert publication.content["body"] == "We no longer accept **TLS 1.0**."


def test_four_eyes_off_lets_one_person_publish(draft, make_staff, settings):
    settings.PUBLISH_FOUR_EYES = False
    both = make_staff("solo", "Compliance editor", "Compliance approver")
    request = services.update_request(update_id=draft.pk, actor=both)
    assert services.update_approve(request_id=request.pk, actor=both).approved_by == both


def test_approval_of_text_not_reviewed_is_refused(draft, editor, approver):
    request = services.update_request(update_id=draft.pk, actor=editor)
    with pytest.raises(ValidationError) as caught:
        services.update_approve(request_id=request.pk, actor=approver, fingerprint="0" * 64)
    assert caught.value.code == "fingerprint_mismatch"
    assert (UpdatePublication.objects.count(), UpdateRequest.objects.get().status) == (0, "pending")


def test_one_request_per_update_waits_and_the_same_text_is_not_published_twice(draft, editor, approver):
    request = services.update_request(update_id=draft.pk, actor=editor)
    with pytest.raises(ValidationError) as caught:
        services.update_request(update_id=draft.pk, actor=editor)
    assert caught.value.code == "request_pending"
    services.update_approve(request_id=request.pk, actor=approver, fingerprint=request.content_sha256)
    with pytest.raises(ValidationError) as caught:
        services.update_request(update_id=draft.pk, actor=editor)
    assert caught.value.code == "nothing_to_publish"
    with pytest.raises(ValidationError) as caught:
        services.update_approve(request_id=request.pk, actor=approver, fingerprint=request.content_sha256)
    assert caught.value.code == "not_pending"
    assert UpdateRequest.objects.count() == 1
    assert UpdatePublication.objects.count() == 1


def test_rejection_records_who_and_why_and_needs_a_reason(draft, editor, approver):
    request = services.update_request(update_id=draft.pk, actor=editor)
    with pytest.raises(ValidationError) as caught:
        services.update_reject(request_id=request.pk, actor=approver, reason="  ")
    assert caught.value.code == "reason_required"
    services.update_reject(request_id=request.pk, actor=approver, reason="Say which clients are affected.")
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.rejection_reason) == (
        "rejected",
        approver,
        "Say which clients are affected.",
    )
    assert request.history.order_by("-history_id").first().history_change_reason == "Say which clients are affected."
    assert UpdatePublication.objects.count() == 0


def test_roles_are_enforced_by_the_services(draft, editor, approver):
    with pytest.raises(PermissionDenied):
        services.update_request(update_id=draft.pk, actor=approver)
    request = services.update_request(update_id=draft.pk, actor=editor)
    with pytest.raises(PermissionDenied):
        services.update_approve(request_id=request.pk, actor=editor, fingerprint=request.content_sha256)
    with pytest.raises(PermissionDenied):
        services.update_reject(request_id=request.pk, actor=editor, reason="no")
    assert UpdateRequest.objects.get().status == "pending"


def test_a_published_update_keeps_its_slug_and_its_record(draft, editor, approver):
    publication = publish_update(update=draft, requester=editor, approver=approver)
    draft.slug = "renamed"
    with pytest.raises(ValidationError) as caught:
        services.update_save(obj=draft, actor=editor, reason="rename")
    assert caught.value.code == "slug_published"
    with pytest.raises(ValidationError) as caught:
        services.update_delete(obj=Update.objects.get(), actor=editor, reason="remove")
    assert caught.value.code == "update_has_requests"
    with pytest.raises(PublicationImmutableError):
        publication.save()
    with pytest.raises(PublicationImmutableError):
        UpdatePublication.objects.all().delete()
    assert Update.objects.get().slug == "tls-1-0-retired"


def test_a_draft_never_asked_for_may_be_deleted_with_a_reason(draft, editor):
    services.update_delete(obj=draft, actor=editor, reason="duplicate")
    assert Update.objects.count() == 0
    assert Update.history.order_by("-history_id").first().history_change_reason == "duplicate"
