"""Public and gated documents pass the one PDF check, at the service and in the admin."""

import pytest
from django.core.exceptions import ValidationError

from compliance.models import Document
from tests.core.test_pdf import ACTIVE, ENCRYPTED, NOT_PDF
from tests.factories import DocumentFactory, pdf_file
from tests.pdfs import FAKE_PDF, encrypted_pdf, javascript_pdf, launch_pdf

pytestmark = pytest.mark.django_db

BAD = [
    (FAKE_PDF, "document_not_pdf", NOT_PDF),
    (encrypted_pdf(), "document_encrypted", ENCRYPTED),
    (javascript_pdf(), "document_active_content", ACTIVE),
    (launch_pdf(), "document_active_content", ACTIVE),
]
IDS = ["fake", "encrypted", "javascript", "launch"]


@pytest.mark.parametrize("visibility", ["public", "gated"])
@pytest.mark.parametrize(("content", "code", "message"), BAD, ids=IDS)
def test_the_content_service_refuses_the_file(editor, visibility, content, code, message):
    with pytest.raises(ValidationError) as refused:
        DocumentFactory.create(actor=editor, slug="report", title="Report", visibility=visibility, content=content)
    error = refused.value.error_dict["file"][0]
    assert (error.code, error.messages) == (code, [message])
    assert Document.objects.count() == 0


@pytest.mark.parametrize(("content", "code", "message"), BAD, ids=IDS)
def test_the_admin_form_shows_the_refusal(client, make_staff, content, code, message):
    client.force_login(make_staff("root", superuser=True))
    response = client.post(
        "/admin/compliance/document/add/",
        {
            "slug": "pentest",
            "title": "Pen-test summary",
            "visibility": "gated",
            "position": 10,
            "file": pdf_file(content, name="report.pdf"),
            "change_reason": "2026 test",
        },
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Document.objects.count() == 0
