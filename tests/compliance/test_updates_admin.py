"""The update screens of the admin call the services; each refuses the role
that may not act and then changes nothing."""

import re

from compliance import services
from compliance.enums import PublicationRequestStatus
from compliance.models import Update, UpdatePublication, UpdateRequest
from tests.factories import SubprocessorFactory, write_update


def test_the_editor_writes_and_asks_in_the_admin(seeded, editor_client):
    response = editor_client.post(
        "/admin/compliance/update/add/",
        {
            "title": "New region",
            "slug": "new-region",
            "category": "roadmap",
            "body": "We open a **Frankfurt** region.",
            "concerns": ["section:infrastructure"],
            "change_reason": "announce",
        },
    )
    assert response.status_code == 302
    update = Update.objects.get()
    assert (update.concerns, update.history.get().history_change_reason) == (["section:infrastructure"], "announce")
    response = editor_client.post(f"/admin/compliance/update/{update.pk}/request-publication/")
    request = UpdateRequest.objects.get()
    assert response.headers["Location"] == f"/admin/compliance/updaterequest/{request.pk}/change/"
    page = editor_client.get(response.headers["Location"]).content.decode()
    assert "<p>We open a <strong>Frankfurt</strong> region.</p>" in page
    assert 'name="approve"' not in page


def test_an_unknown_concern_is_a_form_error_and_saves_nothing(seeded, editor_client):
    response = editor_client.post(
        "/admin/compliance/update/add/",
        {
            "title": "X",
            "slug": "x",
            "category": "general",
            "body": "b",
            "concerns": ["subprocessor:nobody"],
            "change_reason": "r",
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert Update.objects.count() == 0


def test_the_approver_publishes_from_the_review_and_the_editor_cannot(seeded, editor, approver, client):
    update = write_update(editor=editor)
    client.force_login(editor)
    client.post(f"/admin/compliance/update/{update.pk}/request-publication/")
    request = UpdateRequest.objects.get()
    assert (
        client.post(
            f"/admin/compliance/updaterequest/{request.pk}/approve/", {"fingerprint": request.content_sha256}
        ).status_code
        == 403
    )
    assert UpdatePublication.objects.count() == 0

    client.force_login(approver)
    assert client.post(f"/admin/compliance/update/{update.pk}/request-publication/").status_code == 403
    review = client.get(f"/admin/compliance/updaterequest/{request.pk}/change/").content.decode()
    assert f'value="{request.content_sha256}"' in review
    response = client.post(
        f"/admin/compliance/updaterequest/{request.pk}/approve/", {"fingerprint": request.content_sha256}
    )
    assert response.headers["Location"] == "/admin/compliance/updatepublication/"
    assert UpdatePublication.objects.get().approved_by == approver


def test_a_rejection_needs_a_reason(seeded, editor, approver, client):
    update = write_update(editor=editor)
    client.force_login(editor)
    client.post(f"/admin/compliance/update/{update.pk}/request-publication/")
    request = UpdateRequest.objects.get()
    client.force_login(approver)
    client.post(f"/admin/compliance/updaterequest/{request.pk}/reject/", {"reason": ""})
    assert UpdateRequest.objects.get().status == "pending"
    client.post(f"/admin/compliance/updaterequest/{request.pk}/reject/", {"reason": "Name the affected clients."})
    assert UpdateRequest.objects.get().rejection_reason == "Name the affected clients."


def test_both_review_pages_show_the_reject_form_and_it_rejects(published, editor, approver, client):
    update = write_update(editor=editor)
    update_request = services.update_request(update_id=update.pk, actor=editor)
    SubprocessorFactory.create(actor=editor)
    version_request = services.publication_request(summary="new subprocessor", actor=editor)
    client.force_login(approver)
    for request, model in ((update_request, "updaterequest"), (version_request, "publicationrequest")):
        page = client.get(f"/admin/compliance/{model}/{request.pk}/change/").content.decode()
        forms = re.findall(r'<form method="post" action="([^"]+)" class="module aligned">', page)
        assert forms == [
            f"/admin/compliance/{model}/{request.pk}/approve/",
            f"/admin/compliance/{model}/{request.pk}/reject/",
        ]
        assert 'name="reason"' in page and 'name="reject" value="Reject"' in page
        response = client.post(forms[1], {"reason": "Not this week"})
        assert response.headers["Location"] == f"/admin/compliance/{model}/{request.pk}/change/"
        request.refresh_from_db()
        assert (request.status, request.rejection_reason, request.decided_by) == (
            PublicationRequestStatus.REJECTED,
            "Not this week",
            approver,
        )
