"""compliance.Document: upload checks, history, snapshot and the page section."""

import hashlib

import pytest
from django.core.exceptions import ValidationError

from compliance.models import Document, Publication
from compliance.snapshot import build_snapshot
from tests.factories import DocumentFactory, pdf_file

pytestmark = pytest.mark.django_db


def test_a_file_that_is_not_a_pdf_is_refused_whatever_its_name(editor, settings):
    with pytest.raises(ValidationError) as refused:
        DocumentFactory.create(
            actor=editor, slug="x", title="X", visibility="public", content=b"<html><script>alert(1)</script>"
        )

    assert refused.value.error_dict["file"][0].code == "document_not_pdf"
    assert Document.objects.count() == 0


def test_a_file_over_the_size_cap_is_refused(editor, settings):
    settings.DOCUMENT_MAX_BYTES = 100

    with pytest.raises(ValidationError) as refused:
        DocumentFactory.create(
            actor=editor, slug="x", title="X", visibility="public", content=b"%PDF-1.7\n" + b"0" * 100
        )

    assert refused.value.error_dict["file"][0].code == "document_too_large"


def test_an_upload_is_stored_privately_with_its_hash_and_history(editor, settings):
    doc = DocumentFactory.create(
        actor=editor, slug="soc2", title="SOC 2 report", visibility="gated", content=b"%PDF-1.7\nabc"
    )

    assert doc.file.name.startswith("documents/") and doc.file.name.endswith(".pdf")
    assert str(settings.PRIVATE_MEDIA_ROOT) in doc.file.path
    with pytest.raises(ValueError):
        doc.file.url  # noqa: B018 - private files have no URL
    assert doc.sha256 == hashlib.sha256(b"%PDF-1.7\nabc").hexdigest()
    assert doc.size == 12
    row = doc.history.get()
    assert (row.history_user, row.history_change_reason, row.history_type) == (editor, "document uploaded", "+")


def test_the_snapshot_lists_documents_without_bytes_or_paths(editor):
    doc = DocumentFactory.create(
        actor=editor, slug="soc2", title="SOC 2 report", visibility="gated", content=b"%PDF-1.7\nabc"
    )

    assert build_snapshot()["documents"] == [
        {
            "slug": "soc2",
            "title": "SOC 2 report",
            "description": "About SOC 2 report.",
            "visibility": "gated",
            "sha256": doc.sha256,
        }
    ]


def test_the_page_shows_documents_of_the_live_version_only(client, listed, editor):
    DocumentFactory.create(
        actor=editor, slug="draft-only", title="Draft only", visibility="public", content=b"%PDF-1.7\nz"
    )

    html = client.get("/").content.decode()

    assert '<a href="#documents">Documents</a>' in html
    assert '<h2 id="documents-title">Documents</h2>' in html
    assert '<a class="button" href="/documents/dpa-template/" download>Download (PDF)</a>' in html
    assert '<a class="button" href="/documents/soc2-report/request/">Request access</a>' in html
    assert "Draft only" not in html
    assert "documents/" + listed["soc2"].file.name.split("/")[-1] not in html


def test_without_documents_the_section_stays_hidden(client, published):
    html = client.get("/").content.decode()

    assert "documents-title" not in html
    assert Publication.objects.get().snapshot["documents"] == []


def test_the_admin_uploads_through_the_content_services_with_a_reason(client, make_staff):
    admin_user = make_staff("root", superuser=True)
    client.force_login(admin_user)

    response = client.post(
        "/admin/compliance/document/add/",
        {
            "slug": "pentest",
            "title": "Pen-test summary",
            "description": "",
            "visibility": "gated",
            "position": 10,
            "is_active": "on",
            "file": pdf_file(b"%PDF-1.7\npentest"),
            "change_reason": "2026 test",
        },
    )

    assert response.status_code == 302
    doc = Document.objects.get()
    assert (doc.title, doc.size, doc.history.get().history_change_reason) == ("Pen-test summary", 16, "2026 test")


def test_the_admin_refuses_a_disguised_file(client, make_staff):
    client.force_login(make_staff("root", superuser=True))

    response = client.post(
        "/admin/compliance/document/add/",
        {
            "slug": "pentest",
            "title": "Pen-test summary",
            "visibility": "gated",
            "position": 10,
            "file": pdf_file(b"MZ\x90\x00 not a pdf", name="report.pdf"),
            "change_reason": "2026 test",
        },
    )

    assert response.status_code == 200
    assert "Only PDF files can be uploaded; this file is not a PDF." in response.content.decode()
    assert Document.objects.count() == 0


def test_only_roles_with_document_permissions_open_the_document_admin(editor_client, make_staff, client):
    assert editor_client.get("/admin/compliance/document/add/").status_code == 200
    client.force_login(make_staff("hal", "Request handler"))
    assert client.get("/admin/compliance/document/add/").status_code == 403
