"""An NDA text is offered only after a second person approved that exact text."""

import hashlib

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from core.outbox import outbox_send_due
from documents import services
from documents.models import NdaApproval, NdaVersion
from evidence.models import ChainLink
from evidence.verify import verify_chain
from tests.factories import save

from .helpers import approve, ask

pytestmark = pytest.mark.django_db

NEW_TEXT = "Revised terms.\n\nKeep our reports confidential for three years."


def propose(editor, label="2026-09", text=NEW_TEXT):
    return services.nda_version_create(label=label, text=text, reason="Three years instead of two.", actor=editor)


def test_a_proposed_version_is_not_offered_until_a_second_person_approves_it(listed, nda, editor, approver, client):
    proposed = propose(editor)

    assert (proposed.active, proposed.text_sha256) == (False, hashlib.sha256(NEW_TEXT.encode()).hexdigest())
    assert services.active_nda() == nda
    page = client.get("/documents/soc2-report/request/").content.decode()
    assert "You keep our reports confidential." in page
    assert "three years" not in page

    approved = services.nda_version_approve(version_id=proposed.pk, actor=approver, fingerprint=proposed.text_sha256)

    assert services.active_nda() == approved
    assert list(NdaVersion.objects.order_by("created_at", "id").values_list("label", "active")) == [
        ("2026-06", False),
        ("2026-09", True),
    ]
    approval = NdaApproval.objects.get(nda_version=proposed)
    assert (approval.text_sha256, approval.summary, approval.proposed_by, approval.approved_by) == (
        services.nda_text_sha256(NEW_TEXT),
        "Three years instead of two.",
        editor,
        approver,
    )
    page = client.get("/documents/soc2-report/request/").content.decode()
    assert "Keep our reports confidential for three years." in page
    # Requesters who saw the old text must accept the new one.
    with pytest.raises(ValidationError) as refused:
        ask(nda=nda)
    assert refused.value.code == "nda_changed"


def test_the_person_who_proposed_a_version_cannot_approve_it(nda, make_staff):
    both = make_staff("both", "Compliance editor", "Compliance approver")
    proposed = propose(both)

    with pytest.raises(ValidationError) as refused:
        services.nda_version_approve(version_id=proposed.pk, actor=both, fingerprint=proposed.text_sha256)

    assert refused.value.code == "four_eyes"
    assert services.active_nda() == nda
    assert not NdaApproval.objects.filter(nda_version=proposed).exists()


def test_an_editor_may_not_approve_at_all(nda, editor, make_staff):
    proposed = propose(make_staff("other-editor", "Compliance editor"))

    with pytest.raises(PermissionDenied):
        services.nda_version_approve(version_id=proposed.pk, actor=editor, fingerprint=proposed.text_sha256)

    assert services.active_nda() == nda


def test_approval_is_bound_to_the_text_the_approver_read(nda, editor, approver):
    proposed = propose(editor)

    with pytest.raises(ValidationError) as refused:
        services.nda_version_approve(version_id=proposed.pk, actor=approver, fingerprint="0" * 64)
    assert refused.value.code == "nda_changed"

    # The text rewritten behind the admin's back, after the approver opened the review.
    NdaVersion.objects.filter(pk=proposed.pk).update(text="Terms an approver never read.")
    with pytest.raises(ValidationError) as refused:
        services.nda_version_approve(version_id=proposed.pk, actor=approver, fingerprint=proposed.text_sha256)
    assert refused.value.code == "nda_changed"
    assert services.active_nda() == nda


def test_an_approved_or_superseded_version_cannot_be_approved_again(nda, editor, approver):
    older, newer = propose(editor, "2026-08", "Older terms."), propose(editor, "2026-09", "Newer terms.")
    services.nda_version_approve(version_id=newer.pk, actor=approver, fingerprint=newer.text_sha256)

    for version, code in ((newer, "nda_already_approved"), (older, "nda_superseded")):
        with pytest.raises(ValidationError) as refused:
            services.nda_version_approve(version_id=version.pk, actor=approver, fingerprint=version.text_sha256)
        assert refused.value.code == code
    assert services.active_nda() == newer


def test_a_version_without_an_approval_is_never_offered_even_when_marked_active(nda, editor):
    proposed = propose(editor)
    NdaVersion.objects.filter(pk=nda.pk).update(active=False)
    NdaVersion.objects.filter(pk=proposed.pk).update(active=True)

    assert services.active_nda() is None


def test_the_database_refuses_an_approval_by_the_proposer(nda, editor):
    proposed = propose(editor)

    with pytest.raises(IntegrityError), transaction.atomic():
        NdaApproval.objects.create(
            nda_version=proposed,
            text_sha256=proposed.text_sha256,
            summary="",
            proposed_by=editor,
            approved_by=editor,
            approved_at=proposed.created_at,
        )


def test_the_approval_is_chained_and_shows_in_the_audit_log(nda, editor, approver, client):
    proposed = propose(editor)
    services.nda_version_approve(version_id=proposed.pk, actor=approver, fingerprint=proposed.text_sha256)
    approval = NdaApproval.objects.get(nda_version=proposed)

    link = ChainLink.objects.get(model_label="documents.ndaapproval", row_pk=approval.pk)
    assert link.actor_id == approver.pk
    assert verify_chain().ok

    auditor = save_auditor()
    client.force_login(auditor)
    log = client.get("/admin/evidence/auditlog/", {"model": "documents.ndaapproval"}).content.decode()
    assert "approved NDA text" in log
    assert "Three years instead of two." in log
    assert "apollo" in log


def handler_for_grant():
    from tests.factories import StaffFactory

    return StaffFactory(username="hank", groups=["Request handler"])


def save_auditor():
    from tests.factories import StaffFactory

    return StaffFactory(username="audrey", groups=["Auditor"])


def test_the_admin_flow_propose_review_approve(listed, nda, editor, approver, client):
    client.force_login(editor)
    response = client.post(
        "/admin/documents/ndaversion/add/", {"label": "2026-09", "text": NEW_TEXT, "reason": "Three years."}
    )
    assert response.status_code == 302
    proposed = NdaVersion.objects.get(label="2026-09")
    assert (proposed.active, proposed.created_by, proposed.reason) == (False, editor, "Three years.")
    # The editor sees the version waiting, without an approve button, and cannot approve by posting.
    page = client.get(f"/admin/documents/ndaversion/{proposed.pk}/change/").content.decode()
    assert "awaiting approval" in page
    assert "Approve and offer this text" not in page
    refused = client.post(f"/admin/documents/ndaversion/{proposed.pk}/approve/", {"fingerprint": proposed.text_sha256})
    assert refused.status_code == 403

    client.force_login(approver)
    page = client.get(f"/admin/documents/ndaversion/{proposed.pk}/change/").content.decode()
    assert "Keep our reports confidential for three years." in page
    assert f'name="fingerprint" value="{proposed.text_sha256}"' in page
    response = client.post(f"/admin/documents/ndaversion/{proposed.pk}/approve/", {"fingerprint": proposed.text_sha256})
    assert response.status_code == 302
    assert services.active_nda() == proposed


def test_an_admin_post_without_a_reason_proposes_nothing(nda, editor, client):
    client.force_login(editor)

    response = client.post("/admin/documents/ndaversion/add/", {"label": "2026-09", "text": NEW_TEXT})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not NdaVersion.objects.filter(label="2026-09").exists()


def test_requesters_read_the_published_document_title_not_the_draft(listed, nda, editor, client):
    document = listed["soc2"]
    document.title = "SOC 2 Type II report (draft, unreviewed)"
    document.description = "An unreviewed draft description."
    save(document, actor=editor)

    page = client.get("/documents/soc2-report/request/").content.decode()
    ticket = ask(nda=nda)

    assert "Request access: SOC 2 Type I report" in page
    assert "unreviewed" not in page
    assert ticket.form_data["document_title"] == "SOC 2 Type I report"
    # The mail granting access names the title the requester asked for.
    approve(ticket, handler_for_grant())
    outbox_send_due()
    assert mail.outbox[-1].subject == f"[{ticket.reference}] Your access to SOC 2 Type I report"


@pytest.mark.postgres
def test_an_approval_cannot_be_rewritten_in_the_database(nda):
    approval = NdaApproval.objects.get(nda_version=nda)

    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE documents_ndaapproval SET text_sha256 = %s WHERE id = %s", ["0" * 64, approval.pk])
