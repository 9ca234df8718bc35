import itertools
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from core.outbox import outbox_send_due
from requests_app.enums import TicketKind, TicketStatus
from requests_app.services import ticket_submit, ticket_transition, ticket_verify
from tests.pdfs import pdf as pdf_bytes

PDF_BYTES = pdf_bytes("Signed DPA")
REQUESTER = {
    "requester_name": "Ann Example",
    "requester_email": "ann@example.org",
    "legal_entity": "Example GmbH",
    "details": "Please countersign our DPA.",
}
_tokens = itertools.count(1)


@pytest.fixture(autouse=True)
def _requests_settings(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.STAFF_NOTIFY_EMAILS = ["queue@example.com"]
    settings.SITE_URL = "https://trust.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.HOLIDAY_COUNTRY = "US"
    settings.TIME_ZONE = "UTC"
    # Workflow tests make many tickets for one requester in a day; the daily
    # cap of public-form mail has its own tests (test_mail_cap.py sets it).
    settings.PUBLIC_MAIL_PER_ADDRESS_PER_DAY = 1000


def new_submission_token() -> str:
    return f"submission-token-{next(_tokens):08d}"


def submit(kind: str = TicketKind.DPA, **data):
    payload = {**REQUESTER, **data}
    return ticket_submit(kind=kind, data=payload, submission_token=new_submission_token(), ip="203.0.113.9")


def sent_link(kind: str) -> str:
    """The raw token of the last verify/status link actually mailed."""
    outbox_send_due()
    for message in reversed(mail.outbox):
        found = re.search(rf"/requests/{kind}/([A-Za-z0-9_-]+)/", str(message.body))
        if found:
            return found.group(1)
    raise AssertionError(f"no {kind} link was mailed")


def pdf_upload(name: str = "Signed DPA.pdf", content: bytes = PDF_BYTES) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


# Service calls that bring a fresh data-subject access ticket to each status.
def ticket_in(status: TicketStatus, actor, kind: str = TicketKind.DSR_ACCESS):
    ticket, _ = submit(kind, account_email="ann.account@example.org")
    if status == TicketStatus.AWAITING_VERIFICATION:
        return ticket
    if status in (TicketStatus.EXPIRED,):
        return ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.EXPIRED, actor=actor, reason="late")
    ticket = ticket_verify(raw_token=sent_link("verify"))
    steps = {
        TicketStatus.OPEN: [],
        TicketStatus.IN_PROGRESS: [TicketStatus.IN_PROGRESS],
        TicketStatus.AWAITING_REQUESTER: [TicketStatus.IN_PROGRESS, TicketStatus.AWAITING_REQUESTER],
        TicketStatus.FULFILLED: [TicketStatus.IN_PROGRESS, TicketStatus.FULFILLED],
        TicketStatus.REJECTED: [TicketStatus.REJECTED],
        TicketStatus.WITHDRAWN: [TicketStatus.IN_PROGRESS, TicketStatus.AWAITING_REQUESTER, TicketStatus.WITHDRAWN],
        TicketStatus.CLOSED: [TicketStatus.IN_PROGRESS, TicketStatus.FULFILLED, TicketStatus.CLOSED],
    }[status]
    for step in steps:
        ticket = ticket_transition(ticket_id=ticket.pk, to_status=step, actor=actor, reason="step")
    return ticket


@pytest.fixture
def handler(make_staff):
    return make_staff("hannah", "Request handler")


@pytest.fixture
def handler_client(client, handler):
    client.force_login(handler)
    return client
