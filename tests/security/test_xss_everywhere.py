"""Script and markup sent through any field is shown as text everywhere.

A requester fills every text field of each public form with script, an
attribute break-out and a spreadsheet formula (and every email field with an
address whose quoted local part holds a script tag). The values must come out
escaped on the requester's status page, in the staff admin (ticket list and
change page, as a request handler), and in the HTML body of every mail the
submission queued. Staff content holding the same values is escaped on the
public page and in the admin, neutralised in the CSV audit export and kept
verbatim as data in the JSON Lines export.
"""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from compliance.models import Certification, Subprocessor
from compliance.services import content_save, publication_publish_initial
from core import tokens
from core.history import system_actor
from core.intake import new_submission_token
from requests_app import services as request_services
from requests_app.mail import VERIFY
from requests_app.models import OutboxMail, Ticket, VerificationToken
from requests_app.selectors import ticket_status_token
from subscriptions.models import Subscriber
from tests.factories import DocumentFactory, offer_nda, publish_draft, save
from tests.pdfs import pdf as pdf_bytes

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://x")'
HOSTILE = f"{FORMULA} {SCRIPT} {IMG}"
# Valid under Django's validator: a quoted local part may hold < > / ( ).
HOSTILE_EMAIL = f'"{SCRIPT}"@example.com'

ESCAPED = {
    SCRIPT: "&lt;script&gt;alert(1)&lt;/script&gt;",
    IMG: "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
    FORMULA: "=HYPERLINK(&quot;http://x&quot;)",
}
RAW_TAGS = (SCRIPT, "<img src=x onerror=alert(1)>", "<script>")


@pytest.fixture(autouse=True)
def _xss_settings(settings):
    settings.STAFF_NOTIFY_EMAILS = ["queue@example.com"]
    settings.SITE_URL = "https://trust.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DOCUMENT_AUTO_APPROVE_DOMAINS = []
    settings.DOCUMENT_BLOCK_FREEMAIL = True
    cache.clear()
    yield
    cache.clear()


def assert_escaped(html: str, *, where: str, values: tuple[str, ...] = (SCRIPT, IMG, FORMULA)) -> None:
    for raw in RAW_TAGS:
        assert raw not in html, f"raw {raw!r} in {where}"
    for value in values:
        assert ESCAPED[value] in html, f"escaped {value!r} missing from {where}"


def assert_no_raw(html: str, *, where: str) -> None:
    for raw in RAW_TAGS:
        assert raw not in html, f"raw {raw!r} in {where}"


def escaped_email() -> str:
    return "&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;@example.com"


def submit_form(url: str, answers: dict[str, str]) -> Ticket:
    token = new_submission_token()
    response = Client().post(url, {**answers, "submission_token": token, "website": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Ticket.objects.get(submission_token=token)


@pytest.fixture
def handler_client(make_staff) -> Client:
    client = Client()
    client.force_login(make_staff("hannah", "Request handler"))
    return client


def check_ticket_everywhere(
    ticket: Ticket, handler_client: Client, *, text_values: tuple[str, ...], mails: int
) -> None:
    """The ticket's values, escaped, on the status page, in the admin and in its mails."""
    # Status page: the requester's own timeline; a reply carries the hostile text.
    status_token = ticket_status_token(ticket)
    if ticket.status in ("open", "in_progress", "awaiting_requester"):
        client = Client()
        status_url = f"/requests/status/{status_token}/"
        response = client.post(f"{status_url}reply/", {"message": HOSTILE, "submission_token": new_submission_token()})
        assert response.status_code == 302
        assert_escaped(client.get(status_url).content.decode(), where="status page")
        mails += 1  # staff hear of the reply
    else:
        assert_no_raw(Client().get(f"/requests/status/{status_token}/").content.decode(), where="status page")

    # Admin: the change page shows every requester field; the list is searched by the address.
    change = handler_client.get(f"/admin/requests_app/ticket/{ticket.pk}/change/")
    assert change.status_code == 200
    html = change.content.decode()
    assert_escaped(html, where="admin change page", values=text_values)
    if ticket.requester_email == HOSTILE_EMAIL:
        assert escaped_email() in html
    listing = handler_client.get("/admin/requests_app/ticket/", {"q": ticket.requester_email})
    assert listing.status_code == 200
    listed = listing.content.decode()
    assert_no_raw(listed, where="admin ticket list")
    assert f">{ticket.reference}</a>" in listed
    if ticket.requester_email == HOSTILE_EMAIL:
        assert escaped_email() in listed  # the search box echoes the address

    # Mail: the HTML bodies escape; text bodies are plain text.
    queued = list(OutboxMail.objects.filter(ticket=ticket))
    assert len(queued) == mails, [m.template for m in queued]
    for mail in queued:
        assert_no_raw(mail.body_html, where=f"mail {mail.template}")
    received = next(m for m in queued if m.template == "ticket_received")
    if ticket.requester_name:
        assert_escaped(received.body_html, where="ticket_received mail", values=(SCRIPT, IMG, FORMULA))


def test_dpa_values_are_escaped_everywhere(handler_client):
    ticket = submit_form(
        "/requests/new/dpa/",
        {
            "legal_entity": HOSTILE,
            "account_email": HOSTILE_EMAIL,
            "requester_name": HOSTILE,
            "requester_email": HOSTILE_EMAIL,
            "notes": HOSTILE,
        },
    )
    assert (ticket.legal_entity, ticket.requester_name, ticket.details) == (HOSTILE, HOSTILE, HOSTILE)
    check_ticket_everywhere(ticket, handler_client, text_values=(SCRIPT, IMG, FORMULA), mails=2)


def test_baa_values_are_escaped_everywhere(handler_client):
    ticket = submit_form(
        "/requests/new/baa/",
        {
            "legal_entity": HOSTILE,
            "account_email": HOSTILE_EMAIL,
            "requester_name": HOSTILE,
            "requester_email": HOSTILE_EMAIL,
            "entity_status": "covered_entity",
        },
    )
    check_ticket_everywhere(ticket, handler_client, text_values=(SCRIPT, IMG, FORMULA), mails=2)


@pytest.mark.parametrize("right", ["erasure", "rectification"])
def test_data_subject_values_are_escaped_everywhere(handler_client, right):
    ticket = submit_form(
        f"/requests/new/data-subject/{right}/",
        {
            "requester_email": HOSTILE_EMAIL,
            "account_email": "",
            "details": HOSTILE,
        },
    )
    assert ticket.status == "awaiting_verification"
    check_ticket_everywhere(ticket, handler_client, text_values=(SCRIPT, IMG, FORMULA), mails=3)
    # Verified, the requester can write on the status page too.
    vt = VerificationToken.objects.get(ticket=ticket)
    request_services.ticket_verify(raw_token=tokens.recover_token(VERIFY, vt.nonce, vt.token_hash))
    ticket.refresh_from_db()
    check_ticket_everywhere(ticket, handler_client, text_values=(SCRIPT, IMG, FORMULA), mails=3)


def test_staff_messages_are_escaped_on_the_status_page_and_in_mail(handler_client, make_staff):
    ticket = submit_form(
        "/requests/new/dpa/",
        {
            "legal_entity": "Example GmbH",
            "account_email": "a@example.com",
            "requester_name": "Dana",
            "requester_email": "dana@example.com",
            "notes": "",
        },
    )
    staff = make_staff("stella", "Request handler")
    request_services.ticket_add_message(ticket_id=ticket.pk, message=HOSTILE, actor=staff)
    assert_escaped(
        Client().get(f"/requests/status/{ticket_status_token(ticket)}/").content.decode(),
        where="status page with a staff message",
    )
    message_mail = OutboxMail.objects.filter(ticket=ticket).order_by("-id").first()
    assert_escaped(message_mail.body_html, where=f"mail {message_mail.template}")
    assert HOSTILE in message_mail.body_text  # plain text carries it as written


@pytest.fixture
def objection_url(seeded, editor, make_staff):
    publication_publish_initial(actor=system_actor())
    save(
        Subprocessor(slug="fly-io", name="Fly.io", purpose="Application hosting", location="EU"),
        editor,
        "new hosting provider",
    )
    change = publish_draft(
        requester=editor,
        approver=make_staff("apollo", "Compliance approver"),
        effective_at=timezone.now() + timedelta(days=30),
    )
    return f"/subscribe/object/{change.version}/"


def test_objection_values_are_escaped_everywhere(handler_client, objection_url):
    ticket = submit_form(
        objection_url,
        {
            "legal_entity": HOSTILE,
            "requester_name": HOSTILE,
            "requester_email": HOSTILE_EMAIL,
            "subprocessor": "fly-io",
            "details": HOSTILE,
        },
    )
    check_ticket_everywhere(ticket, handler_client, text_values=(SCRIPT, IMG, FORMULA), mails=2)


def test_document_request_values_are_escaped_everywhere(handler_client, seeded, editor, make_staff):
    publication_publish_initial(actor=system_actor())
    nda = offer_nda(label="2026-06", text="Keep it confidential.", editor=editor)
    DocumentFactory.create(
        actor=editor, slug="soc2-report", title="SOC 2 report", visibility="gated", content=pdf_bytes("soc2")
    )
    publish_draft(requester=editor, approver=make_staff("apollo", "Compliance approver"))
    ticket = submit_form(
        "/documents/soc2-report/request/",
        {
            "requester_name": HOSTILE,
            "requester_email": HOSTILE_EMAIL,
            "legal_entity": HOSTILE,
            "accept_nda": "on",
            "nda_version": str(nda.pk),
        },
    )
    check_ticket_everywhere(ticket, handler_client, text_values=(SCRIPT, IMG, FORMULA), mails=2)


def test_subscriber_address_is_escaped_in_admin_and_mail(make_staff):
    response = Client().post("/subscribe/", {"email": HOSTILE_EMAIL, "scope": "all"})
    assert response.status_code == 302
    subscriber = Subscriber.objects.get()
    assert subscriber.email == HOSTILE_EMAIL
    admin_client = Client()
    admin_client.force_login(make_staff("root", superuser=True))
    for url in ("/admin/subscriptions/subscriber/", f"/admin/subscriptions/subscriber/{subscriber.pk}/change/"):
        html = admin_client.get(url).content.decode()
        assert_no_raw(html, where=url)
        assert escaped_email() in html, url
    mail = OutboxMail.objects.get()
    assert_no_raw(mail.body_html, where="subscription mail")


# --- staff content: public page, admin, audit exports ---------------------------------------

EXPORT_URL = "/admin/evidence/auditlog/export/"


def test_staff_content_is_escaped_on_the_page_and_neutralised_in_exports(seeded, editor, make_staff):
    publication_publish_initial(actor=system_actor())
    cert = Certification.objects.get(slug="soc2-type-1")
    cert.name = FORMULA
    cert.target = HOSTILE
    content_save(obj=cert, actor=editor, reason=f"{FORMULA} {SCRIPT}")
    publish_draft(requester=editor, approver=make_staff("apollo", "Compliance approver"))
    cache.clear()

    page = Client().get("/")
    assert page.status_code == 200
    assert_escaped(page.content.decode(), where="public page")

    admin_client = Client()
    admin_client.force_login(editor)
    change = admin_client.get(f"/admin/compliance/certification/{cert.pk}/change/").content.decode()
    assert_escaped(change, where="certification change page")
    history = admin_client.get(f"/admin/compliance/certification/{cert.pk}/history/").content.decode()
    assert_no_raw(history, where="certification history")

    auditor = Client()
    auditor.force_login(make_staff("audrey", "Auditor"))
    today = timezone.now().date().isoformat()
    audit_page = auditor.get("/admin/evidence/auditlog/").content.decode()
    assert_no_raw(audit_page, where="audit log")

    response = auditor.get(EXPORT_URL, {"date_from": today, "date_to": today, "format": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    edited = [
        r
        for r in rows
        if r["model"] == "compliance.historicalcertification"
        and r["change"] != "created"
        and "HYPERLINK" in r["object"] + r["changes"]
    ]
    assert edited, [(r["model"], r["change"]) for r in rows][-5:]
    row = edited[-1]
    assert row["object"] == "'" + FORMULA
    assert row["reason"] == f"'{FORMULA} {SCRIPT}"
    # The changes cell is JSON (starts with "{"): a spreadsheet reads it as text.
    assert json.loads(row["changes"])["name"]["after"] == FORMULA
    for r in rows:
        for value in r.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value

    response = auditor.get(EXPORT_URL, {"date_from": today, "date_to": today, "format": "jsonl"})
    lines = [json.loads(line) for line in response.getvalue().decode().splitlines()]
    entry = [e for e in lines if e["model"] == "compliance.historicalcertification" and e["object"] == FORMULA][-1]
    assert entry["reason"] == f"{FORMULA} {SCRIPT}"
    assert entry["changes"]["target"]["after"] == HOSTILE
