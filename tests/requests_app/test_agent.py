"""Someone asking for another person: the person concerned confirms from their
own account address and receives every answer; a handler checks what
authorises the agent before the request can be fulfilled."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.outbox import outbox_send_due
from requests_app.enums import TicketEventKind, TicketKind, TicketStatus
from requests_app.models import Ticket
from requests_app.services import ticket_agent_check, ticket_submit, ticket_transition, ticket_verify

from .conftest import sent_link
from .helpers import DSR_ANSWERS, fresh_rate_limits, post_form, reference_in  # noqa: F401

pytestmark = pytest.mark.django_db

URL = "/requests/new/data-subject/access/"
AUTHORITY = "I am her daughter and hold a power of attorney signed on 3 March 2026."
AGENT = {
    **DSR_ANSWERS,
    "acting_for": "other",
    "requester_email": "agent@example.net",
    "account_email": "Olga.Owner@example.org",
    "agent_authority": AUTHORITY,
}
METHOD = "Power of attorney received by post and matched to the account holder's name."


def filed_by_agent(client) -> Ticket:
    response = post_form(client, URL, AGENT)
    assert response.status_code == 302
    return Ticket.objects.get()


def test_an_agent_files_for_another_person_who_alone_is_written_to(client):
    ticket = filed_by_agent(client)

    assert (ticket.acting_for_another, ticket.agent_checked_at) == (True, None)
    assert (ticket.requester_email, ticket.account_email, ticket.form_data) == (
        "agent@example.net",
        "olga.owner@example.org",
        {"agent_authority": AUTHORITY},
    )
    outbox_send_due()
    assert sorted((m.to[0], m.subject.split("] ", 1)[-1]) for m in mail.outbox if m.to != ["queue@example.com"]) == [
        ("olga.owner@example.org", "Please confirm your request"),
        ("olga.owner@example.org", "We received your request"),
    ]
    verify = next(m for m in mail.outbox if "confirm your request" in m.subject)
    assert "The person who asked says they act for you" in verify.body
    assert "If you authorised this, confirm it by opening this link" in verify.body
    assert not any(m.to == ["agent@example.net"] for m in mail.outbox)


def test_a_request_for_oneself_records_no_agent(client):
    response = post_form(client, URL, {**DSR_ANSWERS, "acting_for": "self", "agent_authority": "ignored"})

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.acting_for_another, ticket.form_data) == (False, {})


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"account_email": ""},
            "account_email",
            "Enter the email address of the account of the person you act for: we confirm the request with them "
            "there, and answer only there.",
        ),
        (
            {"account_email": "AGENT@example.net"},
            "account_email",
            "This is your own address. Enter the address of the account of the person you act for.",
        ),
        ({"agent_authority": "  "}, "agent_authority", "Tell us who you are to them and what authorises you."),
    ],
)
def test_an_agent_request_without_what_it_needs_is_refused_and_creates_nothing(client, changes, field, message):
    response = post_form(client, URL, {**AGENT, **changes})

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert not Ticket.objects.exists()


def test_the_service_refuses_an_agent_without_an_account_address_or_for_a_dpa():
    for kind, data in (
        (TicketKind.DSR_ACCESS, {"requester_email": "agent@example.net", "acting_for_another": True}),
        (
            TicketKind.DPA,
            {
                "requester_name": "A",
                "legal_entity": "B",
                "requester_email": "agent@example.net",
                "account_email": "x@example.org",
                "acting_for_another": True,
            },
        ),
    ):
        with pytest.raises(ValidationError) as refused:
            ticket_submit(kind=kind, data=data, submission_token="agent-token-000000001")
        assert refused.value.code == "account_email_required"
    assert not Ticket.objects.exists()


def test_fulfilment_waits_for_the_handler_to_check_the_agents_authority(client, handler_client, handler):
    ticket = filed_by_agent(client)
    ticket_verify(raw_token=sent_link("verify"))
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    workflow = lambda name: reverse("admin:requests_app_ticket_workflow", args=[ticket.pk, name])  # noqa: E731

    page = handler_client.get(reverse("admin:requests_app_ticket_change", args=[ticket.pk])).content.decode()
    assert workflow("agent_check") in page
    with pytest.raises(ValidationError) as refused:
        ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=handler, reason="Done.")
    assert refused.value.code == "agent_check_required"
    empty = handler_client.post(workflow("agent_check"), {"expected_status": TicketStatus.IN_PROGRESS})
    assert empty.context["form"].errors == {"method": ["This field is required."]}

    response = handler_client.post(
        workflow("agent_check"), {"expected_status": TicketStatus.IN_PROGRESS, "method": METHOD}
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.agent_checked_at is not None
    event = ticket.events.last()
    assert (event.kind, event.actor, event.message, event.visible_to_requester) == (
        TicketEventKind.AGENT_CHECKED,
        handler,
        f"agent's authority checked: {METHOD}",
        False,
    )
    assert (ticket.history.first().history_user, ticket.history.first().history_change_reason) == (
        handler,
        f"agent's authority checked: {METHOD}",
    )
    page = handler_client.get(reverse("admin:requests_app_ticket_change", args=[ticket.pk])).content.decode()
    assert workflow("agent_check") not in page
    with pytest.raises(ValidationError) as again:
        ticket_agent_check(ticket_id=ticket.pk, method=METHOD, actor=handler)
    assert again.value.code == "agent_check_not_pending"

    mail.outbox.clear()
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=handler, reason="Copy attached.")
    outbox_send_due()
    assert {m.to[0] for m in mail.outbox} == {"olga.owner@example.org"}
    assert any("Copy attached." in m.body for m in mail.outbox)


def test_a_ticket_filed_for_oneself_has_no_agent_check(client, handler):
    post_form(client, URL, DSR_ANSWERS)
    ticket = Ticket.objects.get()

    with pytest.raises(ValidationError) as refused:
        ticket_agent_check(ticket_id=ticket.pk, method=METHOD, actor=handler)

    assert refused.value.code == "agent_check_not_pending"
