import pytest
from django.core.cache import cache

from tests.factories import DocumentFactory, offer_nda, publish_draft
from tests.pdfs import pdf as pdf_bytes


@pytest.fixture(autouse=True)
def _document_settings(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.SITE_URL = "https://trust.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STAFF_NOTIFY_EMAILS = []
    settings.TIME_ZONE = "UTC"
    settings.HOLIDAY_COUNTRY = "US"
    settings.DOCUMENT_GRANT_DAYS = 30
    settings.DOCUMENT_AUTO_APPROVE_DOMAINS = []
    settings.DOCUMENT_BLOCK_FREEMAIL = True
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def nda(db, editor):
    return offer_nda(label="2026-06", text="You keep our reports confidential.", editor=editor)


@pytest.fixture
def listed(clock, published, editor, approver, nda):
    """A gated SOC 2 report and a public DPA template, on the live page."""
    soc2 = DocumentFactory.create(
        actor=editor,
        slug="soc2-report",
        title="SOC 2 Type I report",
        visibility="gated",
        content=pdf_bytes("soc2 body"),
    )
    pentest = DocumentFactory.create(
        actor=editor,
        slug="pentest-summary",
        title="Pen-test summary",
        visibility="gated",
        content=pdf_bytes("pentest body"),
    )
    dpa = DocumentFactory.create(
        actor=editor,
        slug="dpa-template",
        title="DPA template",
        visibility="public",
        content=pdf_bytes("dpa body"),
    )
    publish_draft(requester=editor, approver=approver)
    return {"soc2": soc2, "pentest": pentest, "dpa": dpa}
