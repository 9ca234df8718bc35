"""Identity of data-subject requesters: the link, staff verification by other
means, and resending the link wherever identity is still unconfirmed."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.models import OutboxMail
from requests_app.enums import TicketEventKind, TicketKind, TicketStatus
from requests_app.models import Ticket, VerificationToken
from requests_app.services import (
    ticket_add_message,
    ticket_extend,
    ticket_resend_verification,
    ticket_transition,
    ticket_verify,
    ticket_verify_otherwise,
)

from .conftest import sent_link, submit, ticket_in

METHOD = "Called the phone number on the account; the holder confirmed the request."


def workflow_url(ticket, name):
    return reverse("admin:requests_app_ticket_workflow", args=[ticket.pk, name])


def opened_unverified(handler, kind=TicketKind.DSR_ACCESS, *steps):
    ticket, _ = submit(kind, account_email="ann.account@example.org")
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.OPEN, actor=handler, reason="Link pending.")
    for step in steps:
        ticket = ticket_transition(ticket_id=ticket.pk, to_status=step, actor=handler, reason="Which account?")
    return Ticket.objects.get(pk=ticket.pk)


def test_open_without_verification_acknowledge_then_fulfil_has_a_way_out(handler_client, handler, make_staff):
    """The handler's path: opened without the link, fulfilment is refused until
    identity is confirmed; recording how it was confirmed unlocks it."""
    ticket, _ = submit(TicketKind.DSR_ACCESS, account_email="ann.account@example.org")
    open_form = {"expected_status": ticket.status, "reason": "Starting while the link is pending."}
    assert handler_client.post(workflow_url(ticket, "open"), open_form).status_code == 302
    ack = {"expected_status": TicketStatus.OPEN, "reason": ""}
    assert handler_client.post(workflow_url(ticket, "acknowledge"), ack).status_code == 302
    refused = handler_client.post(workflow_url(ticket, "fulfil"), {"expected_status": TicketStatus.IN_PROGRESS})
    assert refused.status_code == 400
    assert "record how you verified the identity another way" in refused.content.decode()

    empty = handler_client.post(workflow_url(ticket, "verify_otherwise"), {"expected_status": "in_progress"})
    assert empty.context["form"].errors == {"method": ["This field is required."]}
    response = handler_client.post(
        workflow_url(ticket, "verify_otherwise"), {"expected_status": TicketStatus.IN_PROGRESS, "method": METHOD}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.verified_at is not None) == (TicketStatus.IN_PROGRESS, True)
    event = ticket.events.last()
    assert (event.kind, event.actor, event.message, event.visible_to_requester) == (
        TicketEventKind.VERIFIED,
        handler,
        f"identity verified another way: {METHOD}",
        False,
    )
    history = ticket.history.first()
    assert (history.history_user, history.history_change_reason) == (
        handler,
        f"identity verified another way: {METHOD}",
    )
    assert (
        handler_client.post(
            workflow_url(ticket, "fulfil"), {"expected_status": TicketStatus.IN_PROGRESS, "reason": "Export attached."}
        ).status_code
        == 302
    )
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.FULFILLED

    # The auditor, who may not open tickets, reads who verified whom and how.
    handler_client.force_login(make_staff("audrey", "Auditor"))
    listed = handler_client.get(reverse("admin:requests_app_ticketevent_changelist"), {"kind__exact": "verified"})
    assert [(e.ticket, e.actor, e.message) for e in listed.context["cl"].result_list] == [
        (ticket, handler, f"identity verified another way: {METHOD}")
    ]
    assert METHOD in listed.content.decode()


def test_verification_another_way_opens_a_ticket_awaiting_verification(handler):
    ticket, _ = submit(TicketKind.DSR_ERASURE, account_email="ann.account@example.org")
    old_link = sent_link("verify")
    ticket = ticket_verify_otherwise(
        ticket_id=ticket.pk, method=METHOD, actor=handler, expected_status=TicketStatus.AWAITING_VERIFICATION
    )
    assert ticket.status == TicketStatus.OPEN
    assert ticket.verified_at == ticket.opened_at is not None
    events = list(ticket.events.values_list("kind", "actor", "from_status", "to_status", "visible_to_requester"))
    assert events[-2:] == [
        (TicketEventKind.VERIFIED, handler.pk, "", "", False),
        (TicketEventKind.STATUS_CHANGED, handler.pk, TicketStatus.AWAITING_VERIFICATION, TicketStatus.OPEN, False),
    ]
    assert ticket.history.first().history_change_reason == (
        f"awaiting_verification → open: identity verified another way: {METHOD}"
    )
    # The mailed link stops working; no mail goes out for the verification.
    with pytest.raises(ValidationError) as exc:
        ticket_verify(raw_token=old_link)
    assert exc.value.code == "verification_expired"
    assert list(OutboxMail.objects.filter(ticket=ticket).order_by("id").values_list("template", flat=True)) == [
        "ticket_received",
        "staff_new_ticket",
        "verify_identity",
    ]


@pytest.mark.parametrize(
    ("arrange", "code"),
    [
        (lambda handler: submit(TicketKind.DPA)[0], "verification_not_pending"),
        (lambda handler: ticket_in(TicketStatus.OPEN, handler), "verification_not_pending"),  # verified by link
        (lambda handler: ticket_in(TicketStatus.EXPIRED, handler), "verification_not_pending"),
    ],
    ids=["dpa", "verified", "expired"],
)
def test_verification_another_way_is_refused_where_nothing_is_pending(handler, arrange, code):
    ticket = arrange(handler)
    before = (ticket.events.count(), ticket.history.count())
    with pytest.raises(ValidationError) as exc:
        ticket_verify_otherwise(ticket_id=ticket.pk, method=METHOD, actor=handler)
    assert exc.value.code == code
    ticket.refresh_from_db()
    assert (ticket.events.count(), ticket.history.count()) == before


def test_verification_another_way_needs_the_method(handler):
    ticket = opened_unverified(handler)
    with pytest.raises(ValidationError) as exc:
        ticket_verify_otherwise(ticket_id=ticket.pk, method="  ", actor=handler)
    assert exc.value.code == "method_required"
    assert Ticket.objects.get(pk=ticket.pk).verified_at is None


@pytest.mark.parametrize("steps", [(), (TicketStatus.IN_PROGRESS,), (TicketStatus.IN_PROGRESS, "awaiting_requester")])
def test_resend_after_open_without_verification_and_the_link_confirms_in_place(handler, steps):
    ticket = opened_unverified(handler, TicketKind.DSR_ACCESS, *steps)
    first = sent_link("verify")
    ticket_resend_verification(ticket_id=ticket.pk, actor=handler)
    second = sent_link("verify")
    assert first != second
    assert VerificationToken.objects.filter(ticket=ticket).count() == 2
    assert OutboxMail.objects.filter(ticket=ticket, template="verify_identity").last().to == "ann.account@example.org"
    with pytest.raises(ValidationError) as exc:
        ticket_verify(raw_token=first)
    assert exc.value.code == "verification_expired"

    status = ticket.status
    verified = ticket_verify(raw_token=second)
    assert (verified.status, verified.verified_at is not None) == (status, True)
    last = verified.events.last()
    assert (last.kind, last.actor, last.visible_to_requester) == (TicketEventKind.VERIFIED, None, True)
    assert verified.history.first().history_change_reason == "identity verified by the requester through the link"
    with pytest.raises(ValidationError) as exc:
        ticket_resend_verification(ticket_id=ticket.pk, actor=handler)
    assert exc.value.code == "verification_not_pending"


def test_resend_is_offered_wherever_identity_is_unconfirmed(handler_client, handler):
    def labels(ticket):
        response = handler_client.get(reverse("admin:requests_app_ticket_change", args=[ticket.pk]))
        return [label for _, label in response.context["workflow_actions"]]

    pending = opened_unverified(handler, TicketKind.DSR_ACCESS, TicketStatus.IN_PROGRESS)
    assert {"Resend verification link", "Record identity verified another way"} <= set(labels(pending))
    response = handler_client.post(workflow_url(pending, "resend_verification"), {"expected_status": pending.status})
    assert response.status_code == 302
    assert pending.verification_tokens.count() == 2
    for done in (ticket_in(TicketStatus.IN_PROGRESS, handler), submit(TicketKind.DPA)[0]):
        assert not {"Resend verification link", "Record identity verified another way"} & set(labels(done))


def test_answers_go_only_to_the_account_address_however_identity_was_confirmed(handler):
    ticket, _ = submit(TicketKind.DSR_ACCESS, account_email="ann.account@example.org")
    ticket_verify_otherwise(ticket_id=ticket.pk, method=METHOD, actor=handler)
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    ticket_add_message(ticket_id=ticket.pk, message="Your export is nearly ready.", actor=handler)
    ticket_extend(ticket_id=ticket.pk, reason="Many systems.", actor=handler)
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=handler, reason="Attached.")
    to_requester = OutboxMail.objects.filter(ticket=ticket).exclude(template="staff_new_ticket").order_by("id")
    assert list(to_requester.values_list("template", "to")) == [
        ("ticket_received", "ann.account@example.org"),
        ("verify_identity", "ann.account@example.org"),
        ("ticket_in_progress", "ann.account@example.org"),
        ("ticket_message", "ann.account@example.org"),
        ("deadline_extended", "ann.account@example.org"),
        ("ticket_fulfilled", "ann.account@example.org"),
    ]
    dpa, _ = submit(TicketKind.DPA, account_email="admin@example.org")
    assert OutboxMail.objects.get(ticket=dpa, template="ticket_received").to == "ann@example.org"
