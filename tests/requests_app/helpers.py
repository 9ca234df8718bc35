"""Shared test data for the public request pages."""

import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core import tokens
from core.intake import new_submission_token
from requests_app import services
from requests_app.forms import DATA_RIGHTS, DataSubjectRequestForm, form_for_kind
from requests_app.mail import VERIFY
from requests_app.models import Ticket, VerificationToken
from tests.pdfs import pdf as pdf_bytes

DPA_ANSWERS = {
    "legal_entity": "Example GmbH",
    "account_email": "Admin@Example.com",
    "requester_name": "Dana Example",
    "requester_email": "dana@example.com",
    "notes": "Please address it to our legal team.",
}
BAA_ANSWERS = {
    "legal_entity": "Clinic Example LLC",
    "account_email": "it@clinic.example",
    "requester_name": "Casey Clinic",
    "requester_email": "casey@clinic.example",
    "entity_status": "covered_entity",
}
DSR_ANSWERS = {
    "requester_email": "sam@example.org",
    "account_email": "",
    "details": "",
}


def post_form(client: Client, url: str, answers: dict, *, token: str | None = None, **extra):
    data = {**answers, "submission_token": token or new_submission_token(), "website": ""}
    return client.post(url, data, **extra)


def reference_in(html: str) -> str:
    match = re.search(r'data-testid="reference">([A-Z]+-\d{4}-\d{6})<', html)
    assert match, "no reference on the page"
    return match.group(1)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counters live in the cache; each test starts from zero.
    Imported into each test module of the public pages (autouse there)."""
    cache.clear()
    yield
    cache.clear()


def submit(kind: str, **overrides) -> tuple[Ticket, str]:
    """A ticket made exactly as the form makes it; returns (ticket, raw status token)."""
    base = DPA_ANSWERS if kind == "dpa" else BAA_ANSWERS if kind == "baa" else DSR_ANSWERS
    token = new_submission_token()
    data = {**base, **overrides, "submission_token": token, "website": ""}
    if kind in ("dpa", "baa"):
        form = form_for_kind(kind)(data)
    else:
        right = next(r for r in DATA_RIGHTS if r.kind == kind)
        form = DataSubjectRequestForm({"details": "x", **data}, right=right)
    assert form.is_valid(), form.errors
    return services.ticket_submit(kind=kind, data=form.ticket_data(), submission_token=token)


def verification_link_token(ticket: Ticket) -> str:
    """The raw token of the ticket's newest verification link, as the mail carries it."""
    vt = VerificationToken.objects.filter(ticket=ticket).order_by("-created_at", "-id").first()
    return tokens.recover_token(VERIFY, vt.nonce, vt.token_hash)


def pdf_upload(name: str = "countersigned.pdf", body: bytes = pdf_bytes("test document")):
    return SimpleUploadedFile(name, body, content_type="application/pdf")
