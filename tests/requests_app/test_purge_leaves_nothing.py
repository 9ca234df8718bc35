"""After the retention purge, no personal data of a data-subject requester is
left anywhere the application stores it.

A marker name, address, IP address and user agent are planted, through the
public forms and the staff services, in every place a requester or a handler
can put them: form fields, the status-page reply, the verification method,
reasons of moves, the extension and the legal hold, a message and an internal
note, an attachment's name and content, the mails, a document access request
with its NDA acceptance and download, a grant's revocation reason, and a
subscription. The retention run then purges, and every row of every table of
the database (each row as text, `SELECT t::text FROM table t`, in the test's
own transaction, so nothing needs committing for a `pg_dump` to see it) and
every file under private storage are searched for the marker.
"""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.urls import reverse

from core.intake import new_submission_token
from core.outbox import outbox_send_due
from documents import services as document_services
from documents.models import DocumentGrant
from evidence.models import PurgeRecord
from evidence.verify import verify_chain
from requests_app import services
from requests_app.enums import TicketEventKind, TicketKind, TicketStatus
from requests_app.models import Ticket
from requests_app.retention import retention_purge_all
from subscriptions.services import subscriber_request
from tests.factories import DocumentFactory, offer_nda, publish_draft
from tests.pdfs import pdf as pdf_bytes

from .conftest import pdf_upload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NAME = "Zyxwvut Marker"
EMAIL = "zyxwvut.marker+tag@example.org"
LOCAL_PART = "zyxwvut.marker+tag"
IP = "198.51.100.77"
USER_AGENT = "ZyxwvutBrowser/1.0 (Zyxwvut Marker)"
# The erasure is filed by someone acting for the person concerned: personal data too.
AGENT_EMAIL = "qvagent.lawyer@example.net"
# Each of these alone is personal data; "zyxwvut" and "qvagent" cover every form
# the names and addresses take (words of the name, local part, case variants).
NEEDLES = (NAME, EMAIL, LOCAL_PART, "zyxwvut", AGENT_EMAIL, "qvagent", IP)
REQUEST_HEADERS = {"REMOTE_ADDR": IP, "HTTP_USER_AGENT": USER_AGENT}


def tables_holding(needles: tuple[str, ...]) -> dict[str, int]:
    """Every table of the database with rows whose text holds one of `needles`
    (case-insensitive), and how many rows."""
    found = {}
    patterns = [f"%{needle}%" for needle in needles]
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE ANY(%s)', [patterns])
            (rows,) = cursor.fetchone()
            if rows:
                found[table] = rows
    return found


def files_holding(needles: tuple[str, ...]) -> list[str]:
    """Files under private storage whose name or content holds one of `needles`."""
    root = Path(settings.PRIVATE_MEDIA_ROOT)
    lowered = [needle.lower().encode() for needle in needles]
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file()
        and any(needle in (str(path).lower().encode() + path.read_bytes().lower()) for needle in lowered)
    )


def link_token(pattern: str) -> str:
    outbox_send_due()
    for message in reversed(mail.outbox):
        found = re.search(pattern, str(message.body))
        if found:
            return found.group(1)
    raise AssertionError(f"no link matching {pattern} was mailed")


def erasure_worked_and_closed(client, handler, clock) -> Ticket:
    """A data-subject erasure request as the public form makes it, filed by a
    lawyer for the person concerned, worked by a handler who writes the
    person's name and address wherever text goes."""
    response = client.post(
        reverse("requests_app:new_data_subject", kwargs={"right": "erasure"}),
        {
            "acting_for": "other",
            "requester_email": AGENT_EMAIL,
            "account_email": EMAIL,
            "agent_authority": f"Qvagent Lawyer, attorney of {NAME} under a power of attorney",
            "details": f"My client {NAME} asks you to delete the account {EMAIL}.",
            "submission_token": new_submission_token(),
            "website": "",
        },
        **REQUEST_HEADERS,
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(kind=TicketKind.DSR_ERASURE)
    pk = ticket.pk
    services.ticket_assign(ticket_id=pk, assignee=handler, actor=handler)
    services.ticket_verify_otherwise(
        ticket_id=pk, method=f"Called {NAME} on the account's number; confirmed {EMAIL.upper()}", actor=handler
    )
    services.ticket_agent_check(
        ticket_id=pk, method=f"{NAME} confirmed Qvagent Lawyer by phone; {AGENT_EMAIL} matches", actor=handler
    )
    services.ticket_transition(ticket_id=pk, to_status=TicketStatus.IN_PROGRESS, actor=handler, reason=f"For {NAME}")
    services.ticket_extend(ticket_id=pk, reason=f"{NAME} holds three accounts", actor=handler)
    services.ticket_request_info(ticket_id=pk, message=f"Dear {NAME}, any account besides {EMAIL}?", actor=handler)
    services.requester_reply(ticket_id=pk, message=f"Also Zyxwvut.Marker+Other@Example.org. {NAME}")
    services.ticket_add_message(ticket_id=pk, message=f"Thank you, {NAME}.", actor=handler)
    services.ticket_add_note(ticket_id=pk, body=f"{NAME} phoned from ZYXWVUT.MARKER@example.org", actor=handler)
    services.ticket_set_legal_hold(ticket_id=pk, legal_hold=True, reason=f"{NAME} disputes", actor=handler)
    services.ticket_set_legal_hold(ticket_id=pk, legal_hold=False, reason=f"{NAME} settled", actor=handler)
    clock.advance(days=2)
    services.ticket_transition(
        ticket_id=pk,
        to_status=TicketStatus.FULFILLED,
        actor=handler,
        reason=f"Erased every account of {NAME}",
        attachment=pdf_upload(f"{NAME} erasure.pdf", pdf_bytes(f"Erased {NAME} <{EMAIL}>")),
    )
    services.ticket_transition(ticket_id=pk, to_status=TicketStatus.CLOSED, actor=handler)
    return Ticket.objects.get(pk=pk)


def document_access_used_and_revoked(client, handler, editor, approver, django_capture_on_commit_callbacks) -> Ticket:
    """The same person asks for a gated report, accepts the NDA, downloads it;
    the handler revokes access naming them."""
    nda = offer_nda(label="2026-06", text="Keep it confidential.", editor=editor, approver=approver)
    DocumentFactory.create(
        actor=editor, slug="soc2-report", title="SOC 2 report", visibility="gated", content=pdf_bytes("soc2")
    )
    publish_draft(requester=editor, approver=approver)
    response = client.post(
        reverse("documents:request_access", kwargs={"slug": "soc2-report"}),
        {
            "requester_name": NAME,
            "requester_email": EMAIL,
            "legal_entity": f"{NAME} Consulting",
            "accept_nda": "on",
            "nda_version": nda.pk,
            "submission_token": new_submission_token(),
            "website": "",
        },
        **REQUEST_HEADERS,
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(kind=TicketKind.DOCUMENT_ACCESS)
    services.ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=handler)
    token = link_token(r"/documents/soc2-report/download/([A-Za-z0-9_-]+)/")
    response = client.get(reverse("documents:gated_download", args=["soc2-report", token]), **REQUEST_HEADERS)
    assert response.status_code == 200
    grant = DocumentGrant.objects.get(ticket=ticket)
    document_services.grant_revoke(grant_id=grant.pk, actor=handler, reason=f"{NAME} left {EMAIL}'s company")
    services.ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.CLOSED, actor=handler)
    return ticket


def test_the_purge_leaves_no_trace_of_the_requester_anywhere(
    client, handler, editor, approver, clock, published, django_capture_on_commit_callbacks
):
    erasure = erasure_worked_and_closed(client, handler, clock)
    access = document_access_used_and_revoked(client, handler, editor, approver, django_capture_on_commit_callbacks)
    subscriber_request(email=EMAIL, scope="all")
    outbox_send_due()
    # The search finds what was planted: every place holds the marker now.
    assert tables_holding(NEEDLES) == {
        "documents_documentdownload": 1,
        "documents_documentgrant": 1,
        "documents_historicaldocumentgrant": 1,
        "documents_ndaacceptance": 1,
        "requests_app_historicalticket": 16,
        "requests_app_outboxmail": 12,
        "requests_app_ticket": 2,
        "requests_app_historicalticketattachment": 1,
        "requests_app_ticketattachment": 1,
        "requests_app_ticketevent": 12,
        "requests_app_ticketnote": 1,
        "subscriptions_historicalsubscriber": 1,
        "subscriptions_subscriber": 1,
    }
    # The attachment: its content names the requester (its stored name is random).
    assert [str(Path(name).parent) for name in files_holding(NEEDLES)] == [f"tickets/{erasure.pk}"]

    clock.advance(days=settings.RETENTION_DAYS_AFTER_CLOSE + 1)
    with django_capture_on_commit_callbacks(execute=True):
        counts = retention_purge_all()

    assert counts["tickets"]["tickets"] == 2
    assert tables_holding(NEEDLES) == {}
    assert files_holding(NEEDLES) == []
    # What evidence needs stays, and the chain still verifies.
    erasure.refresh_from_db()
    assert (erasure.reference, erasure.kind, erasure.status) == ("DSR-2026-000001", "dsr_erasure", "closed")
    assert (erasure.verified_at, erasure.fulfilled_at) == (
        dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 6, 3, 9, 0, tzinfo=dt.UTC),
    )
    # One purge record per ticket, naming it; the access log and the subscriber purges one each, naming none.
    assert list(PurgeRecord.objects.order_by("id").values_list("reference", flat=True)) == [
        erasure.reference,
        access.reference,
        "",
        "",
    ]
    assert erasure.events.filter(kind=TicketEventKind.VERIFIED).get().message == (
        "identity verified another way: Called [removed] on the account's number; confirmed [removed]"
    )
    assert erasure.events.filter(kind=TicketEventKind.AGENT_CHECKED).get().message == (
        "agent's authority checked: [removed] confirmed [removed] by phone; [removed] matches"
    )
    assert verify_chain().ok
