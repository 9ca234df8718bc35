"""A visitor files an erasure request and a DPA request from the trust page,
confirms the erasure from the mailed link, staff fulfil the DPA in the admin
with a PDF, and the requester downloads exactly that PDF from the status link."""

import re

import pytest
from django.core import mail

from compliance.services import publication_publish_initial
from core.history import system_actor
from core.models import OutboxMail
from core.outbox import outbox_send_one
from requests_app.enums import TicketStatus
from requests_app.models import Ticket
from tests.pdfs import pdf as pdf_bytes

# A live server needs committed data: transactional, restoring what migrations
# made (roles, content types) like every transactional test.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PDF_BYTES = pdf_bytes("Countersigned DPA")
HANDLER = "Request handler"


def send_outbox() -> None:
    """What the mail worker does: send every queued mail (into Django's test outbox)."""
    for mail_id in OutboxMail.objects.filter(status="queued").values_list("pk", flat=True):
        outbox_send_one(mail_id=mail_id)


def link_in_mail(to: str, path: str) -> str:
    for message in mail.outbox:
        if message.to == [to]:
            found = re.search(rf"https?://\S+{path}[A-Za-z0-9_-]+/", str(message.body))
            if found:
                return found.group(0)
    raise AssertionError(f"no mail to {to} with a {path} link")


def test_request_flow(page, live_server, settings, seeded, make_staff, tmp_path):
    settings.SITE_URL = live_server.url  # links in mails point at this server
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    publication_publish_initial(actor=system_actor())  # the public page shows the live version

    # 1. Erasure request, from the GDPR section of the trust page.
    page.goto(f"{live_server.url}/")
    page.locator("#gdpr").get_by_role("link", name="Delete my account and data").click()
    page.wait_for_url("**/requests/new/data-subject/erasure/")
    page.get_by_label("Your email").fill("sam@example.org")
    page.get_by_label("Account email, if different").fill("login@example.org")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url("**/requests/submitted/")
    dsr_reference = page.get_by_test_id("reference").inner_text()
    assert re.fullmatch(r"DSR-\d{4}-\d{6}", dsr_reference)

    # 2. DPA request, from the contact section.
    page.goto(f"{live_server.url}/")
    page.locator("#contact").get_by_role("link", name="Request a countersigned DPA").click()
    page.wait_for_url("**/requests/new/dpa/")
    page.get_by_label("Legal entity name").fill("Example GmbH")
    page.get_by_label("Account email").fill("admin@example.com")
    page.get_by_label("Your name").fill("Dana Example")
    page.get_by_label("Your email").fill("dana@example.com")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url("**/requests/submitted/")
    dpa_reference = page.get_by_test_id("reference").inner_text()
    assert re.fullmatch(r"DPA-\d{4}-\d{6}", dpa_reference)

    # 3. The mails: acknowledgments with status links, and the identity check;
    #    for the erasure both go to the account's address.
    send_outbox()
    dsr_status = link_in_mail("login@example.org", "/requests/status/")  # only to the account's address
    verify_link = link_in_mail("login@example.org", "/requests/verify/")
    dpa_status = link_in_mail("dana@example.com", "/requests/status/")

    # 4. The data subject confirms from the mailed link.
    page.goto(verify_link)
    page.get_by_role("button", name="Confirm my request").click()
    page.wait_for_url("**/requests/verified/")
    assert page.get_by_test_id("reference").inner_text() == dsr_reference
    assert Ticket.objects.get(reference=dsr_reference).status == TicketStatus.OPEN
    page.goto(dsr_status)
    assert page.get_by_test_id("status").inner_text() == "Open"

    # 5. Staff fulfil the DPA in the admin with the countersigned PDF.
    make_staff("hana", HANDLER)
    dpa = Ticket.objects.get(reference=dpa_reference)
    staff = page.context.browser.new_context()
    admin = staff.new_page()
    admin.goto(f"{live_server.url}/admin/login/")
    admin.get_by_label("Username").fill("hana")
    admin.get_by_label("Password").fill("correct-horse-battery")
    admin.get_by_role("button", name="Log in").click()
    admin.goto(f"{live_server.url}/admin/requests_app/ticket/{dpa.pk}/change/")
    admin.get_by_role("link", name="Acknowledge (start work)").click()
    admin.get_by_role("button", name="Acknowledge (start work)").click()
    admin.wait_for_url(f"**/admin/requests_app/ticket/{dpa.pk}/change/")
    admin.get_by_role("link", name="Fulfil").click()
    pdf = tmp_path / "Countersigned DPA.pdf"
    pdf.write_bytes(PDF_BYTES)
    admin.locator('input[type="file"]').set_input_files(str(pdf))
    admin.get_by_role("button", name="Fulfil").click()
    admin.wait_for_url(f"**/admin/requests_app/ticket/{dpa.pk}/change/")
    staff.close()
    dpa.refresh_from_db()
    assert dpa.status == TicketStatus.FULFILLED

    # 6. The requester opens the status link and downloads the same bytes.
    page.goto(dpa_status)
    assert page.get_by_test_id("reference").inner_text() == dpa_reference
    assert page.get_by_test_id("status").inner_text() == "Fulfilled"
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"\.pdf$")).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as fh:
        assert fh.read() == PDF_BYTES
