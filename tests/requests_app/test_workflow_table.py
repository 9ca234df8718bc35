"""The workflow table (`enums.STATES`) is the one source the admin, the
services and the status page follow; no state is a dead end for handlers."""

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db.models import DateTimeField
from django.urls import reverse

from requests_app.admin_workflow import AFTER_MOVES, BEFORE_MOVES
from requests_app.enums import (
    ACTIVE_STATUSES,
    DATA_SUBJECT_KINDS,
    MOVE_BY_BUTTON,
    STATES,
    TicketKind,
    TicketStatus,
)
from requests_app.models import Ticket
from requests_app.services import ticket_transition
from tests.factories import DocumentFactory, publish_draft
from tests.pdfs import pdf as pdf_bytes

from .conftest import pdf_upload, submit, ticket_in

WORKFLOW_BUTTON = re.compile(r'<a class="button workflow-button" href="([^"]+)">([^<]+)</a>')
NOT_MOVES = {button.name for button in (*BEFORE_MOVES, *AFTER_MOVES)}


def change_url(ticket):
    return reverse("admin:requests_app_ticket_change", args=[ticket.pk])


def workflow_url(ticket, name):
    return reverse("admin:requests_app_ticket_workflow", args=[ticket.pk, name])


def buttons_on(client, ticket) -> list[tuple[str, str]]:
    """(action name, label) of every workflow button the change page renders."""
    html = client.get(change_url(ticket)).content.decode()
    names = {workflow_url(ticket, name): name for name in (*NOT_MOVES, *MOVE_BY_BUTTON)}
    found = WORKFLOW_BUTTON.findall(html)
    assert all(href in names for href, _ in found), found
    return [(names[href], label) for href, label in found]


# ---------------------------------------------------------------- the table itself


def test_every_status_has_one_row_and_every_stamp_is_a_time_column():
    assert set(STATES) == set(TicketStatus.values)
    for state in STATES.values():
        assert isinstance(Ticket._meta.get_field(state.stamp), DateTimeField)
        assert all(move.to in TicketStatus.values for move in state.moves)


def test_a_button_makes_the_same_move_wherever_it_is_offered():
    for state in STATES.values():
        for move in state.moves:
            if move.button:
                assert MOVE_BY_BUTTON[move.button] == move
                assert move.label


def test_moves_made_by_verification_and_replies_are_moves_of_the_table():
    for state in STATES.values():
        for target in (state.on_identity_confirmed, state.on_requester_reply):
            assert not target or state.move_to(target) is not None
    assert STATES[TicketStatus.AWAITING_VERIFICATION].on_identity_confirmed == TicketStatus.OPEN
    assert STATES[TicketStatus.AWAITING_REQUESTER].on_requester_reply == TicketStatus.IN_PROGRESS


def test_a_move_that_tells_the_requester_enters_a_state_with_a_mail():
    told = {move.to for state in STATES.values() for move in state.moves if move.tells_requester}
    with_mail = {status for status, state in STATES.items() if state.mail is not None}
    assert told == with_mail == {"in_progress", "awaiting_requester", "fulfilled", "rejected", "withdrawn", "expired"}


def test_requesters_may_reply_while_the_ticket_is_worked_after_confirmation():
    may_reply = {status for status, state in STATES.items() if state.requester_may_reply}
    assert may_reply == {"open", "in_progress", "awaiting_requester"}
    assert may_reply | {"awaiting_verification"} == ACTIVE_STATUSES


# ---------------------------------------------------------------- the admin follows the table


@pytest.fixture
def users(make_staff, handler):
    clerk = make_staff("clerk")  # may change tickets, but not attach files
    clerk.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="requests_app", codename__in=["view_ticket", "change_ticket"]
        )
    )
    return {
        "handler": handler,
        "clerk": clerk,
        "auditor": make_staff("audrey", "Auditor"),
        "editor": make_staff("edith", "Compliance editor"),
        "approver": make_staff("appo", "Compliance approver"),
        "superuser": make_staff("root", superuser=True),
    }


@pytest.mark.parametrize("status", TicketStatus.values)
def test_admin_offers_exactly_the_tables_moves_for_every_state_and_role(client, users, handler, status):
    ticket = ticket_in(status, handler)
    for role, user in users.items():
        client.force_login(user)
        offered = [(name, label) for name, label in buttons_on(client, ticket) if name in MOVE_BY_BUTTON]
        expected = [
            (move.button, move.label)
            for move in STATES[status].moves
            if move.button and all(user.has_perm(permission) for permission in move.permissions)
        ]
        assert offered == expected, role


def test_the_table_decides_who_may_make_a_move(client, users, handler):
    ticket = ticket_in(TicketStatus.IN_PROGRESS, handler)
    seen = {}
    for role, user in users.items():
        client.force_login(user)
        seen[role] = [name for name, _ in buttons_on(client, ticket) if name in MOVE_BY_BUTTON]
    assert seen == {
        "handler": ["request_info", "fulfil", "reject"],
        "clerk": ["request_info", "reject"],  # fulfilling needs add_ticketattachment
        "auditor": [],
        "editor": [],
        "approver": [],
        "superuser": ["request_info", "fulfil", "reject"],
    }
    for role in ("clerk", "auditor"):
        client.force_login(users[role])
        response = client.post(
            workflow_url(ticket, "fulfil"), {"expected_status": ticket.status, "attachment": pdf_upload()}
        )
        assert response.status_code == 403, role
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.IN_PROGRESS


def test_assign_to_me_is_not_offered_on_a_ticket_already_mine(client, handler, make_staff):
    ticket, _ = submit()
    client.force_login(handler)
    assert ("assign_me", "Assign to me") in buttons_on(client, ticket)
    assert client.post(workflow_url(ticket, "assign_me"), {"expected_status": ticket.status}).status_code == 302
    assert "assign_me" not in [name for name, _ in buttons_on(client, ticket)]
    client.force_login(make_staff("otto", "Request handler"))
    assert ("assign_me", "Assign to me") in buttons_on(client, ticket)


# ---------------------------------------------------------------- no dead end


def ticket_of(kind: str, settings, editor, approver):
    if kind != TicketKind.DOCUMENT_ACCESS:
        ticket, _ = submit(kind)
        return ticket
    from tests.documents.helpers import ask
    from tests.factories import offer_nda

    settings.DOCUMENT_AUTO_APPROVE_DOMAINS = []
    nda = offer_nda(label="2026-06", text="You keep our reports confidential.", editor=editor)
    DocumentFactory.create(
        actor=editor, slug="soc2-report", title="SOC 2 report", visibility="gated", content=pdf_bytes()
    )
    publish_draft(requester=editor, approver=approver)
    return ask(nda=nda)


ARRANGE = {
    TicketStatus.AWAITING_VERIFICATION: [],
    TicketStatus.OPEN: [],
    TicketStatus.IN_PROGRESS: [TicketStatus.IN_PROGRESS],
    TicketStatus.AWAITING_REQUESTER: [TicketStatus.IN_PROGRESS, TicketStatus.AWAITING_REQUESTER],
}
# What a handler tries, in this order, to get a ticket done; never a rejection.
FORWARD: dict[str, dict[str, Any]] = {
    "fulfil": {"reason": "Done.", "attachment": None},
    "acknowledge": {"reason": ""},
    "resume": {"reason": ""},
    "verify_otherwise": {"method": "Called the phone number on the account; the holder confirmed the request."},
    "open": {"reason": "Starting while the link is pending."},
}
CASES = [
    (kind, status)
    for kind in TicketKind.values
    for status in ARRANGE
    if kind in DATA_SUBJECT_KINDS or status != TicketStatus.AWAITING_VERIFICATION
]


@pytest.mark.parametrize(("kind", "status"), CASES, ids=[f"{k}-{s}" for k, s in CASES])
def test_every_active_state_has_a_way_forward_that_is_not_rejection(request, client, handler, settings, kind, status):
    """From each state a ticket is worked in, with the requester's identity not
    confirmed wherever that is possible, the buttons the admin offers lead to
    "fulfilled" without rejecting."""
    assert set(ARRANGE) == ACTIVE_STATUSES
    if kind == TicketKind.DOCUMENT_ACCESS:
        ticket = ticket_of(kind, settings, request.getfixturevalue("editor"), request.getfixturevalue("approver"))
    else:
        ticket = ticket_of(kind, settings, None, None)
    if ticket.status == TicketStatus.AWAITING_VERIFICATION and status != ticket.status:
        ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.OPEN, actor=handler, reason="Link pending.")
    for step in ARRANGE[status]:
        ticket_transition(ticket_id=ticket.pk, to_status=step, actor=handler, reason="Which account?")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.verified_at) == (status, None)

    client.force_login(handler)
    taken: list[str] = []
    while ticket.status != TicketStatus.FULFILLED:
        assert len(taken) < 6, taken
        offered = [name for name, _ in buttons_on(client, ticket)]
        for name, data in FORWARD.items():
            if name not in offered:
                continue
            if "attachment" in data:
                data = {**data, "attachment": pdf_upload()}
            response = client.post(workflow_url(ticket, name), {"expected_status": ticket.status, **data})
            if response.status_code == 302:
                taken.append(name)
                break
        else:
            pytest.fail(f"no way forward from {ticket.status}; offered {offered}")
        ticket.refresh_from_db()
    assert "reject" not in taken
