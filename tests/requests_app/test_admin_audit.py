"""The auditor's read-only ticket view: deadlines, actors, verification and
purge from one list, page and export; never the requester's data."""

import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evidence.models import PurgeRecord
from requests_app.enums import TicketKind, TicketStatus
from requests_app.models import Ticket
from requests_app.services import (
    requester_reply,
    ticket_add_message,
    ticket_add_note,
    ticket_agent_check,
    ticket_request_info,
    ticket_transition,
    ticket_verify_otherwise,
    tickets_purge_personal_data,
)

from .conftest import pdf_upload, submit

NAME = "Zyxwvut Marker"
EMAIL = "zyxwvut.marker+tag@example.org"
MARKERS = (NAME, EMAIL, "zyxwvut.marker+tag", "zyxwvut", "203.0.113.9", "Marker Holding", "Secret detail")
LIST_URL = reverse("admin:requests_app_ticketaudit_changelist")
EXPORT_URL = reverse("admin:requests_app_ticketaudit_export")
HEADER = (
    "reference,kind,status,received_at,acknowledged_at,acknowledged_by,original_due_at,due_at,extended_at,"
    "answered_at,answered_by,on_time,fulfilled_at,rejected_at,closed_at,closed_by,verified_at,verification,"
    "verified_before_fulfilment,agent_checked_at,agent_check,personal_data_purged_at,purge_record"
)


@pytest.fixture
def auditor_client(client, make_staff):
    client.force_login(make_staff("audrey", "Auditor"))
    return client


@pytest.fixture
def tickets(db, clock, handler, make_staff):
    """Received Monday 2026-06-01 09:00 UTC: a DPA countersigned on Friday (on
    time), a DPA countersigned the Wednesday after its deadline, and an erasure
    verified by a call before it was fulfilled. The requester's name and
    address are everywhere a requester or handler can write them."""
    closer = make_staff("carl", "Request handler")
    requester = {"requester_name": NAME, "requester_email": EMAIL, "legal_entity": "Marker Holding"}
    on_time, _ = submit(TicketKind.DPA, **requester, details=f"Secret detail from {NAME}")
    late, _ = submit(TicketKind.DPA, **requester)
    erasure, _ = submit(TicketKind.DSR_ERASURE, requester_email=EMAIL, details=f"Secret detail: erase {NAME}")
    ticket_verify_otherwise(ticket_id=erasure.pk, method=f"Called {NAME} back at the account's number", actor=handler)
    clock.advance(days=1)  # Tuesday
    for ticket in (on_time, late, erasure):
        ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    ticket_request_info(ticket_id=on_time.pk, message=f"Dear {NAME}, which entity signs?", actor=handler)
    requester_reply(ticket_id=on_time.pk, message=f"Marker Holding, {EMAIL}")
    ticket_add_message(ticket_id=erasure.pk, message=f"Hello {NAME}", actor=handler)
    ticket_add_note(ticket_id=erasure.pk, body=f"{NAME} called from {EMAIL}", actor=handler)
    clock.advance(days=1)  # Wednesday
    ticket_transition(ticket_id=erasure.pk, to_status=TicketStatus.FULFILLED, actor=handler, reason=f"Erased {NAME}")
    clock.advance(days=2, hours=1)  # Friday 10:00
    ticket_transition(ticket_id=on_time.pk, to_status=TicketStatus.FULFILLED, actor=handler, attachment=pdf_upload())
    clock.advance(days=3)  # Monday
    for ticket in (on_time, erasure):
        ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.CLOSED, actor=closer)
    clock.advance(days=2)  # Wednesday 2026-06-10, after the deadline of Monday 2026-06-08
    ticket_transition(ticket_id=late.pk, to_status=TicketStatus.FULFILLED, actor=closer, attachment=pdf_upload())
    return {
        name: Ticket.objects.get(pk=t.pk) for name, t in (("on_time", on_time), ("late", late), ("erasure", erasure))
    }


def assert_no_personal_data(text: str) -> None:
    lowered = text.lower()
    assert [marker for marker in MARKERS if marker.lower() in lowered] == []


def export_rows(client, query: str = "") -> list[str]:
    response = client.get(EXPORT_URL + query)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="tickets-audit.csv"'
    assert "no-store" in response["Cache-Control"]
    content = response.content.decode()
    assert_no_personal_data(content)
    return content.splitlines()


def test_was_the_dpa_countersigned_on_time_and_by_whom(auditor_client, tickets):
    rows = export_rows(auditor_client, "?kind=dpa")

    assert rows == [
        HEADER,
        "DPA-2026-000001,dpa,closed,2026-06-01T09:00:00+00:00,2026-06-02T09:00:00+00:00,hannah,"
        "2026-06-08T23:59:59.999999+00:00,2026-06-08T23:59:59.999999+00:00,,2026-06-05T10:00:00+00:00,hannah,yes,"
        "2026-06-05T10:00:00+00:00,,2026-06-08T10:00:00+00:00,carl,,not required,not required,,"
        "not filed for another person,,",
        "DPA-2026-000002,dpa,fulfilled,2026-06-01T09:00:00+00:00,2026-06-02T09:00:00+00:00,hannah,"
        "2026-06-08T23:59:59.999999+00:00,2026-06-08T23:59:59.999999+00:00,,2026-06-10T10:00:00+00:00,carl,no,"
        "2026-06-10T10:00:00+00:00,,,,,not required,not required,,not filed for another person,,",
    ]


def test_was_the_erasure_verified_before_fulfilment_and_when_purged(auditor_client, tickets, clock):
    clock.advance(days=731)
    assert tickets_purge_personal_data()["tickets"] == 2
    erasure = tickets["erasure"]
    record_id = PurgeRecord.objects.get(reference=erasure.reference).pk
    # Two years on, the auditor signs in again (idle sessions end).
    auditor_client.force_login(User.objects.get(username="audrey"))

    rows = export_rows(auditor_client, "?kind=dsr_erasure")

    assert rows == [
        HEADER,
        "DSR-2026-000001,dsr_erasure,closed,2026-06-01T09:00:00+00:00,2026-06-02T09:00:00+00:00,hannah,"
        "2026-07-01T23:59:59.999999+00:00,2026-07-01T23:59:59.999999+00:00,,2026-06-03T09:00:00+00:00,hannah,yes,"
        "2026-06-03T09:00:00+00:00,,2026-06-08T10:00:00+00:00,carl,2026-06-01T09:00:00+00:00,"
        "by hannah: identity verified another way: Called [removed] back at the account's number,"
        f"yes,,not filed for another person,2028-06-10T10:00:00+00:00,{record_id}",
    ]
    page = auditor_client.get(reverse("admin:requests_app_ticketaudit_change", args=[erasure.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "by hannah: identity verified another way: Called [removed] back at the account&#x27;s number" in (html)
    assert f"#{record_id}" in html
    assert_no_personal_data(html)


def test_list_and_pages_never_show_the_requester(auditor_client, tickets):
    listing = auditor_client.get(LIST_URL)
    assert listing.status_code == 200
    html = listing.content.decode()
    assert [ref for ref in ("DPA-2026-000001", "DPA-2026-000002", "DSR-2026-000001") if ref in html] == [
        "DPA-2026-000001",
        "DPA-2026-000002",
        "DSR-2026-000001",
    ]
    assert_no_personal_data(html)
    for ticket in tickets.values():
        page = auditor_client.get(reverse("admin:requests_app_ticketaudit_change", args=[ticket.pk]))
        assert page.status_code == 200
        assert ticket.reference in page.content.decode()
        assert_no_personal_data(page.content.decode())
    assert_no_personal_data("\n".join(export_rows(auditor_client)))
    page = auditor_client.get(reverse("admin:requests_app_ticketaudit_change", args=[tickets["on_time"].pk]))
    readonly = re.findall(r'<div class="readonly">([^<]*)</div>', page.content.decode())
    # On time, acknowledged by, answered by, closed by, verification, verified before fulfilment, agent.
    shown = {"hannah", "carl", "yes", "not required", "not filed for another person"}
    assert [value for value in readonly if value in shown] == [
        "yes",
        "hannah",
        "hannah",
        "carl",
        "not required",
        "not required",
        "not filed for another person",
    ]


def test_the_list_filters_by_answer_against_the_due_date(auditor_client, tickets):
    def references(query: str) -> list[str]:
        return [row.split(",")[0] for row in export_rows(auditor_client, query)[1:]]

    assert references("?on_time=yes") == ["DPA-2026-000001", "DSR-2026-000001"]
    assert references("?on_time=no") == ["DPA-2026-000002"]
    assert references("?on_time=open") == []
    assert references("?status=closed&kind=dpa") == ["DPA-2026-000001"]
    assert references("?q=DSR-2026-000001") == ["DSR-2026-000001"]
    # The search is by reference only: an address finds nothing.
    assert references(f"?q={EMAIL}") == []


def test_the_auditor_changes_nothing(auditor_client, tickets):
    ticket = tickets["on_time"]
    change_url = reverse("admin:requests_app_ticketaudit_change", args=[ticket.pk])
    before = Ticket.objects.filter(pk=ticket.pk).values().get()

    assert auditor_client.post(change_url, {"status": "open", "reference": "X"}).status_code == 403
    delete_url = reverse("admin:requests_app_ticketaudit_delete", args=[ticket.pk])
    assert auditor_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert auditor_client.post(EXPORT_URL).status_code == 405
    # The list offers no action; one posted anyway only shows the list again.
    response = auditor_client.post(LIST_URL, {"action": "delete_selected", "_selected_action": [ticket.pk]})
    assert (response.status_code, 'name="action"' in response.content.decode()) == (200, False)
    assert Ticket.objects.filter(pk=ticket.pk).values().get() == before


def test_the_agent_s_authority_check_shows_who_and_how(auditor_client, tickets, handler):
    filed, _ = submit(
        TicketKind.DSR_ACCESS,
        requester_email="qv.lawyer@example.net",
        account_email=EMAIL,
        acting_for_another=True,
        agent_authority=f"Attorney of {NAME}",
    )
    ticket_agent_check(ticket_id=filed.pk, method=f"{NAME} confirmed Qv Lawyer by phone", actor=handler)

    rows = export_rows(auditor_client, "?kind=dsr_access")

    assert [row.split(",")[-4:-2] for row in rows[1:]] == [
        ["2026-06-10T10:00:00+00:00", "by hannah: agent's authority checked: [removed] confirmed [removed] by phone"]
    ]


@pytest.mark.parametrize("role", ["Request handler", "Compliance editor", "Compliance approver"])
def test_other_roles_cannot_open_or_export_the_audit_view(client, make_staff, tickets, role):
    client.force_login(make_staff("other", role))
    assert client.get(LIST_URL).status_code == 403
    assert client.get(EXPORT_URL).status_code == 403


def test_the_event_list_shows_neither_correspondence_nor_personal_values(auditor_client, tickets):
    response = auditor_client.get(reverse("admin:requests_app_ticketevent_changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert ("(the requester&#x27;s reply)" in html, "(a message to the requester)" in html) == (True, True)
    assert "identity verified another way: Called [removed] back at the account&#x27;s number" in html
    assert_no_personal_data(html)


def test_the_list_and_export_cost_the_same_queries_for_one_ticket_or_many(auditor_client, clock):
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert auditor_client.get(url).status_code == 200
        return len(captured)

    submit(TicketKind.DSR_ERASURE, requester_email=EMAIL)
    one = (queries(LIST_URL), queries(EXPORT_URL))
    for _ in range(2):
        submit(TicketKind.DPA)
    assert (queries(LIST_URL), queries(EXPORT_URL)) == one
