"""A visitor subscribes to subprocessor changes from the trust page and
confirms from the mailed link; a subprocessor is added and the notice arrives
with one-click unsubscribe; the visitor asks for a gated report, staff approve
it, the private link downloads it; the visitor unsubscribes from the notice."""

import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from compliance.models import Document, Subprocessor
from compliance.services import publication_publish_initial
from core.history import system_actor
from core.models import OutboxMail
from core.outbox import outbox_send_one
from requests_app.enums import TicketStatus
from requests_app.models import Ticket
from requests_app.services import ticket_transition
from subscriptions.models import Subscriber
from subscriptions.services import publication_notices_send
from tests.factories import offer_nda, publish_draft, save
from tests.pdfs import pdf as pdf_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

REPORT = pdf_bytes("SOC 2 report for the browser test")


def send_outbox() -> None:
    for mail_id in OutboxMail.objects.filter(status="queued").values_list("pk", flat=True):
        outbox_send_one(mail_id=mail_id)


def link_in_mail(to: str, path: str) -> str:
    send_outbox()
    for message in reversed(mail.outbox):
        if message.to == [to]:
            found = re.search(rf"https?://\S+{path}[A-Za-z0-9_-]+/", str(message.body))
            if found:
                return found.group(0)
    raise AssertionError(f"no mail to {to} with a {path} link")


def test_subscribe_notice_unsubscribe_and_gated_download(page, live_server, settings, seeded, make_staff, tmp_path):
    settings.SITE_URL = live_server.url
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    editor = make_staff("edna", "Compliance editor")
    approver = make_staff("apollo", "Compliance approver")
    handler = make_staff("hannah", "Request handler")
    save(
        Document(
            slug="soc2-report",
            title="SOC 2 Type I report",
            visibility="gated",
            file=SimpleUploadedFile("r.pdf", REPORT),
        ),
        editor,
        "report received",
    )
    offer_nda(label="2026-06", text="Keep the report confidential.", editor=editor)
    publication_publish_initial(actor=system_actor())

    # 1. Subscribe from the infrastructure section, confirm from the mail.
    page.goto(f"{live_server.url}/")
    page.locator("#infrastructure").get_by_role(
        "link", name="Get notified by email when our subprocessors change"
    ).click()
    page.get_by_label("Your email").fill("cora@customer.example")
    assert page.get_by_label("Subprocessor changes only").is_checked()
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    page.goto(link_in_mail("cora@customer.example", "/subscribe/confirm/"))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="You are subscribed").wait_for()
    assert Subscriber.objects.get().is_active

    # 2. A subprocessor is added: the notice says so and carries one-click unsubscribe.
    save(Subprocessor(slug="fly-io", name="Fly.io", purpose="Hosting"), editor, "new host")
    publication = publish_draft(requester=editor, approver=approver, summary="Fly.io hosts the app")
    publication_notices_send(publication_id=publication.pk)
    send_outbox()
    notice = mail.outbox[-1]
    assert "- Subprocessor added: Fly.io" in notice.body
    assert notice.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # 3. Ask for the gated report from the Documents section.
    page.goto(f"{live_server.url}/")
    page.locator("#documents").get_by_role("link", name="Request access").click()
    page.get_by_label("Your name").fill("Cora Customer")
    page.get_by_label("Work email").fill("cora@customer.example")
    page.get_by_label("Company", exact=True).fill("Customer Inc.")
    page.get_by_label("I accept the non-disclosure agreement above on behalf of my company").check()
    page.get_by_role("button", name="Request access").click()
    assert re.fullmatch(r"DOC-\d{4}-\d{6}", page.get_by_test_id("reference").inner_text())

    # 4. Staff approve in the workflow; the private link downloads the report.
    ticket = Ticket.objects.get(kind="document_access")
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=handler, reason="Approved")
    download = page.request.get(link_in_mail("cora@customer.example", "/documents/soc2-report/download/"))
    assert download.status == 200
    assert download.body() == REPORT
    assert download.headers["content-disposition"] == 'attachment; filename="soc2-report.pdf"'

    # 5. Unsubscribe from the notice's link.
    page.goto(link_in_mail("cora@customer.example", "/subscribe/unsubscribe/"))
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You are unsubscribed").wait_for()
    assert Subscriber.objects.get().unsubscribed_at is not None
