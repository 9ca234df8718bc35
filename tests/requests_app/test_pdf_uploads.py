"""Countersigned files pass the one PDF check, at the service and in the admin."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from requests_app.enums import TicketKind, TicketStatus
from requests_app.models import Ticket, TicketAttachment
from requests_app.services import ticket_transition
from tests.core.test_pdf import ACTIVE, ENCRYPTED, NOT_PDF
from tests.pdfs import FAKE_PDF, encrypted_pdf, javascript_pdf, launch_pdf, pdf

from .conftest import pdf_upload, submit

BAD = [
    (FAKE_PDF, "attachment_not_pdf", NOT_PDF),
    (encrypted_pdf(), "attachment_encrypted", ENCRYPTED),
    (javascript_pdf(), "attachment_active_content", ACTIVE),
    (launch_pdf(), "attachment_active_content", ACTIVE),
]
IDS = ["fake", "encrypted", "javascript", "launch"]


@pytest.fixture
def working(db, handler):
    ticket, _ = submit(TicketKind.DPA)
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    return ticket


@pytest.mark.parametrize(("content", "code", "message"), BAD, ids=IDS)
def test_the_service_refuses_the_file_and_leaves_the_ticket_as_it_was(working, handler, content, code, message):
    with pytest.raises(ValidationError) as refused:
        ticket_transition(
            ticket_id=working.pk,
            to_status=TicketStatus.FULFILLED,
            actor=handler,
            attachment=pdf_upload("Signed DPA.pdf", content),
        )
    assert (refused.value.code, refused.value.messages) == (code, [message])
    assert Ticket.objects.get(pk=working.pk).status == TicketStatus.IN_PROGRESS
    assert TicketAttachment.objects.count() == 0


def test_the_service_takes_a_real_pdf(working, handler):
    content = pdf("Countersigned DPA")
    ticket_transition(
        ticket_id=working.pk,
        to_status=TicketStatus.FULFILLED,
        actor=handler,
        attachment=pdf_upload("Signed DPA.pdf", content),
    )
    attachment = TicketAttachment.objects.get(ticket=working)
    assert (attachment.original_name, attachment.size, attachment.file.read()) == (
        "Signed DPA.pdf",
        len(content),
        content,
    )


@pytest.mark.parametrize(("content", "code", "message"), BAD, ids=IDS)
def test_the_admin_fulfil_form_shows_the_refusal(working, handler_client, content, code, message):
    response = handler_client.post(
        reverse("admin:requests_app_ticket_workflow", args=[working.pk, "fulfil"]),
        {
            "expected_status": TicketStatus.IN_PROGRESS,
            "reason": "Countersigned.",
            "attachment": pdf_upload("Signed DPA.pdf", content),
        },
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Ticket.objects.get(pk=working.pk).status == TicketStatus.IN_PROGRESS
