import datetime as dt
import hashlib
import itertools
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from core.models import OutboxMail
from core.outbox import outbox_send_due
from requests_app.enums import ALLOWED_TRANSITIONS, TicketEventKind, TicketKind, TicketStatus
from requests_app.models import Ticket, TicketAttachment, TicketNote, VerificationToken
from requests_app.selectors import ticket_by_status_token, ticket_public_events
from requests_app.services import (
    STATE_STAMP,
    TicketConflict,
    requester_reply,
    ticket_add_message,
    ticket_add_note,
    ticket_assign,
    ticket_extend,
    ticket_request_info,
    ticket_resend_verification,
    ticket_set_legal_hold,
    ticket_submit,
    ticket_transition,
    ticket_verify,
    tickets_expire_unverified,
)

from .conftest import PDF_BYTES, REQUESTER, new_submission_token, pdf_upload, sent_link, submit, ticket_in


def mails_of(ticket):
    return list(OutboxMail.objects.filter(ticket=ticket).order_by("id").values_list("template", "to"))


# ---------------------------------------------------------------- submission


def test_submit_dpa_creates_ticket_event_history_and_mails(db):
    ticket, raw_token = submit(TicketKind.DPA, company_size="50-249")
    year = timezone.now().year
    assert ticket.reference == f"DPA-{year}-000001"
    assert ticket.status == TicketStatus.OPEN
    assert (ticket.requester_name, ticket.requester_email, ticket.legal_entity) == (
        "Ann Example",
        "ann@example.org",
        "Example GmbH",
    )
    assert ticket.form_data == {"company_size": "50-249"}
    assert ticket.submitted_ip == "203.0.113.9"
    assert ticket.opened_at == ticket.received_at == ticket.status_changed_at
    assert ticket.due_at == ticket.original_due_at > ticket.received_at
    assert ticket.verification_requested_at is None
    # Only a hash of a 256-bit token is stored.
    assert len(raw_token) == 43
    assert ticket.status_token_hash == hashlib.sha256(raw_token.encode()).hexdigest()
    assert raw_token not in str(Ticket.objects.filter(pk=ticket.pk).values().get())
    assert ticket_by_status_token(raw_token) == ticket
    assert ticket_by_status_token(raw_token[:-1] + "x") is None
    events = list(ticket.events.values_list("kind", "to_status", "actor", "visible_to_requester"))
    assert events == [(TicketEventKind.SUBMITTED, TicketStatus.OPEN, None, True)]
    history = ticket.history.get()
    assert (history.history_type, history.history_user, history.history_change_reason) == (
        "+",
        None,
        "submitted by requester",
    )
    assert mails_of(ticket) == [("ticket_received", "ann@example.org"), ("staff_new_ticket", "queue@example.com")]


def test_without_a_notify_list_every_request_handler_hears_of_a_new_ticket(db, settings, make_staff):
    settings.STAFF_NOTIFY_EMAILS = []
    make_staff("hana", "Request handler")
    make_staff("hugo", "Request handler").groups.clear()
    gone = make_staff("gone", "Request handler")
    gone.is_active = False
    gone.save()

    ticket, _ = submit(TicketKind.DPA)

    assert mails_of(ticket) == [("ticket_received", "ann@example.org"), ("staff_new_ticket", "hana@example.com")]


def test_acknowledgment_mail_carries_the_status_link_only_when_sent(db):
    ticket, raw_token = submit(TicketKind.BAA)
    stored = OutboxMail.objects.get(ticket=ticket, template="ticket_received")
    assert raw_token not in stored.body_text + stored.body_html
    assert "[[status_url]]" in stored.body_text
    outbox_send_due()
    ack = next(m for m in mail.outbox if m.to == ["ann@example.org"])
    link = f"https://trust.example.com/requests/status/{raw_token}/"
    assert ack.subject == f"[{ticket.reference}] We received your request"
    assert link in ack.body
    assert isinstance(ack, EmailMultiAlternatives)
    assert f'href="{link}"' in str(ack.alternatives[0][0])
    staff = next(m for m in mail.outbox if m.to == ["queue@example.com"])
    assert f"/admin/requests_app/ticket/{ticket.pk}/change/" in staff.body
    assert "ann@example.org" not in f"{staff.subject}{staff.body}"  # staff mail names the reference only


def test_submit_data_subject_request_asks_for_verification_at_the_account_address(db):
    ticket, _ = submit(TicketKind.DSR_ERASURE, account_email="ann.account@example.org")
    assert ticket.reference.startswith("DSR-")
    assert ticket.status == TicketStatus.AWAITING_VERIFICATION
    assert ticket.opened_at is None
    assert ticket.verification_requested_at == ticket.received_at
    vt = VerificationToken.objects.get(ticket=ticket)
    assert vt.expires_at - vt.created_at == dt.timedelta(days=7)
    # Everything about a data-subject request goes to the account's address only.
    assert mails_of(ticket) == [
        ("ticket_received", "ann.account@example.org"),
        ("staff_new_ticket", "queue@example.com"),
        ("verify_identity", "ann.account@example.org"),
    ]
    assert list(ticket.events.values_list("kind", flat=True)) == [
        TicketEventKind.SUBMITTED,
        TicketEventKind.VERIFICATION_REQUESTED,
    ]


def test_references_count_per_prefix_and_year(db):
    refs = [
        submit(kind)[0].reference
        for kind in (TicketKind.DPA, TicketKind.DPA, TicketKind.BAA, TicketKind.DSR_ACCESS, TicketKind.DSR_ERASURE)
    ]
    year = timezone.now().year
    assert refs == [
        f"DPA-{year}-000001",
        f"DPA-{year}-000002",
        f"BAA-{year}-000001",
        f"DSR-{year}-000001",
        f"DSR-{year}-000002",
    ]


def test_repeated_submission_token_returns_the_same_ticket_and_creates_nothing(db):
    token = new_submission_token()
    first, raw1 = ticket_submit(kind=TicketKind.DPA, data=dict(REQUESTER), submission_token=token)
    counts = (Ticket.objects.count(), OutboxMail.objects.count(), first.events.count())
    second, raw2 = ticket_submit(
        kind=TicketKind.DPA, data={**REQUESTER, "requester_name": "Other"}, submission_token=token
    )
    assert (second.pk, raw2) == (first.pk, raw1)
    assert (Ticket.objects.count(), OutboxMail.objects.count(), first.events.count()) == counts


@pytest.mark.parametrize(
    ("kind", "data", "token", "code"),
    [
        ("nda", REQUESTER, None, "kind_unknown"),
        (TicketKind.DPA, {**REQUESTER, "requester_name": " "}, None, "name_required"),
        (TicketKind.DPA, {**REQUESTER, "requester_email": "not-an-address"}, None, "email_invalid"),
        (TicketKind.DPA, {**REQUESTER, "account_email": "x@"}, None, "email_invalid"),
        (TicketKind.DPA, {**REQUESTER, "legal_entity": ""}, None, "legal_entity_required"),
        (TicketKind.DPA, REQUESTER, "short", "submission_token_invalid"),
        (TicketKind.DPA, {**REQUESTER, "extra": object()}, None, "form_data_invalid"),
    ],
)
def test_submit_refuses_invalid_input_and_creates_nothing(db, kind, data, token, code):
    with pytest.raises(ValidationError) as exc:
        ticket_submit(kind=kind, data=dict(data), submission_token=token or new_submission_token())
    assert exc.value.code == code
    assert (Ticket.objects.count(), OutboxMail.objects.count()) == (0, 0)


def test_data_subject_request_needs_no_legal_entity(db):
    ticket, _ = submit(TicketKind.DSR_ACCESS, legal_entity="")
    assert ticket.legal_entity == ""


# ---------------------------------------------------------------- verification


def test_verification_link_opens_the_ticket_once(db):
    _ticket, _ = submit(TicketKind.DSR_ACCESS)
    raw = sent_link("verify")
    verified = ticket_verify(raw_token=raw)
    assert verified.status == TicketStatus.OPEN
    assert verified.verified_at == verified.opened_at == verified.status_changed_at is not None
    # The move goes through the table like any other: "verified", then "status_changed".
    events: list[tuple[object, ...]] = list(
        verified.events.values_list("kind", "actor", "from_status", "to_status", "message", "visible_to_requester")
    )
    assert events[-2:] == [
        (TicketEventKind.VERIFIED, None, "", "", "", True),
        (
            TicketEventKind.STATUS_CHANGED,
            None,
            TicketStatus.AWAITING_VERIFICATION,
            TicketStatus.OPEN,
            "identity verified by the requester through the link",
            False,
        ),
    ]
    assert verified.history.count() == 2  # submitted, then verified and opened in one save
    assert verified.history.first().history_change_reason == (
        "awaiting_verification → open: identity verified by the requester through the link"
    )
    with pytest.raises(ValidationError) as exc:
        ticket_verify(raw_token=raw)
    assert exc.value.code == "verification_used"


def test_expired_verification_link_is_refused(db):
    ticket, _ = submit(TicketKind.DSR_ACCESS)
    raw = sent_link("verify")
    vt = VerificationToken.objects.get(ticket=ticket)
    vt.expires_at = timezone.now() - dt.timedelta(seconds=1)
    vt.save()
    with pytest.raises(ValidationError) as exc:
        ticket_verify(raw_token=raw)
    assert exc.value.code == "verification_expired"
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.AWAITING_VERIFICATION


@pytest.mark.parametrize("raw", ["", "nonsense", "x" * 200])
def test_unknown_verification_link_is_refused(db, raw):
    with pytest.raises(ValidationError) as exc:
        ticket_verify(raw_token=raw)
    assert exc.value.code == "verification_invalid"


def test_status_link_does_not_verify(db):
    _, status_token = submit(TicketKind.DSR_ACCESS)
    with pytest.raises(ValidationError) as exc:
        ticket_verify(raw_token=status_token)
    assert exc.value.code == "verification_invalid"


def test_unverified_tickets_expire_after_the_link_lapses(db, handler):
    ticket, _ = submit(TicketKind.DSR_ACCESS)
    fresh, _ = submit(TicketKind.DSR_ACCESS)
    vt = VerificationToken.objects.get(ticket=ticket)
    vt.expires_at = timezone.now() - dt.timedelta(minutes=1)
    vt.save()
    assert tickets_expire_unverified() == 1
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.EXPIRED and ticket.expired_at is not None
    assert Ticket.objects.get(pk=fresh.pk).status == TicketStatus.AWAITING_VERIFICATION
    assert mails_of(ticket)[-1] == ("ticket_expired", "ann@example.org")


# ---------------------------------------------------------------- every pair of statuses

PAIRS = list(itertools.product(TicketStatus.values, TicketStatus.values))


@pytest.mark.parametrize(("from_status", "to_status"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_pair_of_statuses(db, handler, from_status, to_status):
    ticket = ticket_in(from_status, handler)
    assert ticket.status == from_status
    events_before = ticket.events.count()
    history_before = ticket.history.count()
    if to_status in ALLOWED_TRANSITIONS[from_status]:
        moved = ticket_transition(ticket_id=ticket.pk, to_status=to_status, actor=handler, reason="because")
        moved.refresh_from_db()
        assert moved.status == to_status
        assert getattr(moved, STATE_STAMP[to_status]) is not None
        assert moved.status_changed_at >= ticket.status_changed_at
        event = moved.events.last()
        assert (event.kind, event.actor, event.from_status, event.to_status, event.message) == (
            TicketEventKind.STATUS_CHANGED,
            handler,
            from_status,
            to_status,
            "because",
        )
        history = moved.history.first()
        assert (history.history_user, history.history_change_reason, history.status) == (
            handler,
            f"{from_status} → {to_status}: because",
            to_status,
        )
    else:
        with pytest.raises(ValidationError) as exc:
            ticket_transition(ticket_id=ticket.pk, to_status=to_status, actor=handler, reason="because")
        assert exc.value.code == "transition_not_allowed"
        ticket.refresh_from_db()
        assert ticket.status == from_status
        assert ticket.events.count() == events_before
        assert ticket.history.count() == history_before


def test_the_table_is_the_documented_one():
    assert {k: set(v) for k, v in ALLOWED_TRANSITIONS.items()} == {
        "awaiting_verification": {"open", "expired"},
        "open": {"in_progress", "rejected"},
        "in_progress": {"awaiting_requester", "fulfilled", "rejected"},
        "awaiting_requester": {"in_progress", "withdrawn"},
        "fulfilled": {"closed"},
        "rejected": {"closed"},
        "withdrawn": {"closed"},
        "expired": {"closed"},
        "closed": set(),
    }


def test_unknown_status_is_refused(db, handler):
    ticket, _ = submit()
    with pytest.raises(ValidationError) as exc:
        ticket_transition(ticket_id=ticket.pk, to_status="done", actor=handler)
    assert exc.value.code == "status_unknown"


def test_acknowledged_at_keeps_the_first_acknowledgment(db, handler):
    ticket = ticket_in(TicketStatus.AWAITING_REQUESTER, handler)
    first = ticket.acknowledged_at
    ticket = ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    assert ticket.acknowledged_at == first


# ---------------------------------------------------------------- rules of particular moves


@pytest.mark.parametrize("kind", [TicketKind.DSR_ERASURE, TicketKind.DSR_ACCESS, TicketKind.DSR_PORTABILITY])
def test_fulfilling_unverified_erasure_access_portability_is_refused(db, handler, kind):
    ticket, _ = submit(kind)
    for step in (TicketStatus.OPEN, TicketStatus.IN_PROGRESS):  # staff opened it without the link
        ticket_transition(ticket_id=ticket.pk, to_status=step, actor=handler, reason="called the customer")
    with pytest.raises(ValidationError) as exc:
        ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=handler)
    assert exc.value.code == "verification_required"
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.IN_PROGRESS


def test_unverified_rectification_can_be_fulfilled(db, handler):
    ticket, _ = submit(TicketKind.DSR_RECTIFICATION)
    for step in (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.FULFILLED):
        ticket = ticket_transition(ticket_id=ticket.pk, to_status=step, actor=handler, reason="done")
    assert ticket.status == TicketStatus.FULFILLED


def test_fulfilling_a_dpa_needs_the_signed_pdf(db, handler):
    ticket, _ = submit(TicketKind.DPA)
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    with pytest.raises(ValidationError) as exc:
        ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=handler)
    assert exc.value.code == "attachment_required"


def test_fulfilling_a_dpa_stores_the_pdf_privately_and_mails_the_status_link(db, handler, settings):
    ticket, raw_token = submit(TicketKind.DPA)
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    ticket = ticket_transition(
        ticket_id=ticket.pk,
        to_status=TicketStatus.FULFILLED,
        actor=handler,
        attachment=pdf_upload("../../etc/Signed\x00 DPA<2026>.PDF"),
    )
    attachment = TicketAttachment.objects.get(ticket=ticket)
    assert attachment.original_name == "Signed DPA_2026_.pdf"
    assert (attachment.size, attachment.sha256) == (len(PDF_BYTES), hashlib.sha256(PDF_BYTES).hexdigest())
    assert (attachment.uploaded_by, attachment.content_type) == (handler, "application/pdf")
    stored = Path(attachment.file.path)
    assert stored.is_relative_to(Path(settings.PRIVATE_MEDIA_ROOT))
    assert stored.read_bytes() == PDF_BYTES
    with pytest.raises(ValueError):
        _ = attachment.file.url  # no public URL serves private files
    assert list(ticket.events.values_list("kind", flat=True))[-2:] == [
        TicketEventKind.ATTACHMENT_ADDED,
        TicketEventKind.STATUS_CHANGED,
    ]
    outbox_send_due()
    fulfilled = mail.outbox[-1]
    assert fulfilled.subject == f"[{ticket.reference}] Your request is complete"
    assert f"https://trust.example.com/requests/status/{raw_token}/" in fulfilled.body
    assert "Download Signed DPA_2026_.pdf" in fulfilled.body


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (pdf_upload("dpa.pdf", b"PK\x03\x04 a zip file named .pdf"), "attachment_not_pdf"),
        (pdf_upload("dpa.pdf", b"%PDF-" + b"0" * 2048), "attachment_too_large"),
    ],
)
def test_bad_attachments_are_refused(db, handler, settings, upload, code):
    settings.ATTACHMENT_MAX_BYTES = 1024
    ticket, _ = submit(TicketKind.DPA)
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    with pytest.raises(ValidationError) as exc:
        ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=handler, attachment=upload)
    assert exc.value.code == code
    assert not TicketAttachment.objects.exists()
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.IN_PROGRESS


def test_attachment_only_with_fulfilment(db, handler):
    ticket, _ = submit(TicketKind.DPA)
    with pytest.raises(ValidationError) as exc:
        ticket_transition(
            ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler, attachment=pdf_upload()
        )
    assert exc.value.code == "attachment_not_expected"


def test_rejection_needs_a_reason(db, handler):
    ticket, _ = submit(TicketKind.DPA)
    with pytest.raises(ValidationError) as exc:
        ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.REJECTED, actor=handler, reason="  ")
    assert exc.value.code == "reason_required"


def test_data_subject_rejection_names_the_right_to_complain(db, handler):
    ticket = ticket_in(TicketStatus.OPEN, handler, kind=TicketKind.DSR_ERASURE)
    ticket_transition(
        ticket_id=ticket.pk,
        to_status=TicketStatus.REJECTED,
        actor=handler,
        reason="Art. 17(3)(b): we must keep invoices for ten years.",
    )
    outbox_send_due()
    body = mail.outbox[-1].body
    assert "Art. 17(3)(b): we must keep invoices for ten years." in body
    assert "lodge a complaint with a data protection supervisory" in body
    assert "judicial remedy" in body
    event = ticket.events.last()
    assert event.visible_to_requester is True


def test_dpa_rejection_does_not_mention_supervisory_authority(db, handler):
    ticket, _ = submit(TicketKind.DPA)
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.REJECTED, actor=handler, reason="No contract.")
    outbox_send_due()
    assert "supervisory" not in mail.outbox[-1].body


def test_request_info_moves_to_awaiting_requester_with_a_visible_message(db, handler):
    ticket = ticket_in(TicketStatus.IN_PROGRESS, handler)
    with pytest.raises(ValidationError) as exc:
        ticket_request_info(ticket_id=ticket.pk, message="", actor=handler)
    assert exc.value.code == "message_required"
    ticket = ticket_request_info(ticket_id=ticket.pk, message="Which account number?", actor=handler)
    assert ticket.status == TicketStatus.AWAITING_REQUESTER
    assert [e.message for e in ticket_public_events(ticket)][-1] == "Which account number?"
    outbox_send_due()
    assert "Which account number?" in mail.outbox[-1].body


def test_requester_reply_resumes_work_and_tells_staff(db, handler):
    ticket = ticket_in(TicketStatus.AWAITING_REQUESTER, handler)
    event = requester_reply(ticket_id=ticket.pk, message="Account 4711.")
    ticket.refresh_from_db()
    assert (event.kind, event.actor, event.visible_to_requester) == (TicketEventKind.REQUESTER_REPLY, None, True)
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert mails_of(ticket)[-1] == ("staff_requester_reply", "queue@example.com")


def test_requester_cannot_reply_to_a_closed_ticket(db, handler):
    ticket = ticket_in(TicketStatus.CLOSED, handler)
    with pytest.raises(ValidationError) as exc:
        requester_reply(ticket_id=ticket.pk, message="Hello?")
    assert exc.value.code == "ticket_not_active"


def test_assign_records_actor_and_event(db, handler, make_staff):
    other = make_staff("otto", "Request handler")
    ticket, _ = submit()
    ticket = ticket_assign(ticket_id=ticket.pk, assignee=other, actor=handler)
    assert ticket.assignee == other
    event = ticket.events.last()
    assert (event.kind, event.actor, event.message, event.visible_to_requester) == (
        TicketEventKind.ASSIGNED,
        handler,
        "Assigned to otto",
        False,
    )
    assert ticket.history.first().history_user == handler


def test_assign_to_non_staff_is_refused(db, handler, django_user_model):
    outsider = django_user_model.objects.create_user("outsider")
    ticket, _ = submit()
    with pytest.raises(ValidationError) as exc:
        ticket_assign(ticket_id=ticket.pk, assignee=outsider, actor=handler)
    assert exc.value.code == "assignee_not_staff"


def test_staff_opening_without_the_link_needs_a_reason(db, handler):
    ticket, _ = submit(TicketKind.DSR_ACCESS)
    with pytest.raises(ValidationError) as exc:
        ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.OPEN, actor=handler)
    assert exc.value.code == "reason_required"


def test_legal_hold_needs_a_reason_and_is_recorded(db, handler):
    ticket, _ = submit()
    with pytest.raises(ValidationError) as exc:
        ticket_set_legal_hold(ticket_id=ticket.pk, legal_hold=True, reason="", actor=handler)
    assert exc.value.code == "reason_required"
    ticket = ticket_set_legal_hold(ticket_id=ticket.pk, legal_hold=True, reason="Claim pending.", actor=handler)
    assert ticket.legal_hold is True
    history = ticket.history.first()
    assert (history.history_user, history.history_change_reason, history.legal_hold) == (
        handler,
        "legal hold placed: Claim pending.",
        True,
    )


def test_notes_are_internal(db, handler):
    ticket, _ = submit()
    note = ticket_add_note(ticket_id=ticket.pk, body="Legal says fine.", actor=handler)
    assert (note.author, note.body) == (handler, "Legal says fine.")
    assert not ticket_public_events(ticket).filter(message__contains="Legal says").exists()
    assert not OutboxMail.objects.filter(body_text__contains="Legal says").exists()
    with pytest.raises(ValidationError) as exc:
        ticket_add_note(ticket_id=ticket.pk, body=" ", actor=handler)
    assert exc.value.code == "note_required"
    assert TicketNote.objects.count() == 1


def test_message_to_requester_is_mailed_and_visible(db, handler):
    ticket, _ = submit()
    event = ticket_add_message(ticket_id=ticket.pk, message="We will send it tomorrow.", actor=handler)
    assert (event.kind, event.visible_to_requester, event.actor) == (TicketEventKind.MESSAGE, True, handler)
    assert mails_of(ticket)[-1] == ("ticket_message", "ann@example.org")


def test_extension_sets_new_deadline_and_mails_a_notice(db, handler):
    ticket = ticket_in(TicketStatus.IN_PROGRESS, handler)
    ticket = ticket_extend(ticket_id=ticket.pk, reason="Data spread over many systems.", actor=handler)
    assert ticket.due_at > ticket.original_due_at
    assert ticket.extension_reason == "Data spread over many systems."
    assert ticket.history.first().history_change_reason == "deadline extended: Data spread over many systems."
    event = ticket.events.last()
    assert (event.kind, event.visible_to_requester) == (TicketEventKind.EXTENDED, True)
    outbox_send_due()
    assert "Data spread over many systems." in mail.outbox[-1].body
    with pytest.raises(ValidationError) as exc:
        ticket_extend(ticket_id=ticket.pk, reason="Again", actor=handler)
    assert exc.value.code == "extension_already_used"


def test_extension_after_the_original_deadline_is_refused(db, handler):
    ticket = ticket_in(TicketStatus.IN_PROGRESS, handler)
    # Arrange a ticket received 40 days ago (its deadline has passed).
    ticket.received_at -= dt.timedelta(days=40)
    ticket.original_due_at = ticket.due_at = ticket.received_at + dt.timedelta(days=30)
    ticket.save()
    with pytest.raises(ValidationError) as exc:
        ticket_extend(ticket_id=ticket.pk, reason="Too late", actor=handler)
    assert exc.value.code == "extension_too_late"
    assert Ticket.objects.get(pk=ticket.pk).extended_at is None


def test_extension_of_closed_ticket_is_refused(db, handler):
    ticket = ticket_in(TicketStatus.FULFILLED, handler)
    with pytest.raises(ValidationError) as exc:
        ticket_extend(ticket_id=ticket.pk, reason="x", actor=handler)
    assert exc.value.code == "ticket_not_active"


def test_stale_expected_status_is_a_conflict(db, handler):
    ticket, _ = submit()
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    with pytest.raises(TicketConflict) as exc:
        ticket_transition(
            ticket_id=ticket.pk,
            to_status=TicketStatus.REJECTED,
            actor=handler,
            reason="dup",
            expected_status=TicketStatus.OPEN,
        )
    assert exc.value.code == "ticket_changed"
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.IN_PROGRESS


def test_unknown_ticket(db, handler):
    with pytest.raises(ValidationError) as exc:
        ticket_transition(ticket_id=999999, to_status=TicketStatus.CLOSED, actor=handler)
    assert exc.value.code == "ticket_not_found"


def test_ticket_queryset_refuses_bulk_writes_that_skip_history(db):
    from core.history import HistoryBypassError

    submit()
    with pytest.raises(HistoryBypassError):
        Ticket.objects.update(status=TicketStatus.CLOSED)


def test_resending_verification_retires_the_earlier_link(db, handler):
    ticket, _ = submit(TicketKind.DSR_ERASURE)
    first = sent_link("verify")
    ticket_resend_verification(ticket_id=ticket.pk, actor=handler)
    second = sent_link("verify")
    assert first != second
    with pytest.raises(ValidationError) as exc:
        ticket_verify(raw_token=first)
    assert exc.value.code == "verification_expired"
    assert ticket_verify(raw_token=second).status == TicketStatus.OPEN
    with pytest.raises(ValidationError) as exc:
        ticket_resend_verification(ticket_id=ticket.pk, actor=handler)
    assert exc.value.code == "verification_not_pending"


def test_mail_that_cannot_be_built_is_retried_and_does_not_block_others(db, settings):
    first, _ = submit()
    _second, _ = submit()
    broken = OutboxMail.objects.filter(ticket=first).first()
    broken.subject = "Header\ninjection"
    broken.save()
    counts = outbox_send_due()
    assert (counts["sent"], counts["retry"]) == (3, 1)
    broken.refresh_from_db()
    assert (broken.status, broken.attempts, broken.last_error) == ("queued", 1, "BadHeaderError")


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "done"), ("kind", "nda"), ("extension_reason", "no date"), ("closed_at", None)],
)
def test_database_refuses_inconsistent_tickets(db, handler, field, value):
    from django.db import IntegrityError, transaction

    ticket = ticket_in(TicketStatus.CLOSED, handler, kind=TicketKind.DSR_RECTIFICATION)
    setattr(ticket, field, value)
    with pytest.raises(IntegrityError), transaction.atomic():
        ticket.save()


def test_status_page_selectors_show_only_what_the_requester_may_see(db, handler):
    from requests_app.selectors import ticket_public_attachments

    ticket, raw_token = submit(TicketKind.DPA)
    other, _ = submit(TicketKind.DPA, requester_email="someone@example.net")
    ticket_add_note(ticket_id=ticket.pk, body="Internal: customer is a reseller.", actor=handler)
    ticket_assign(ticket_id=ticket.pk, assignee=handler, actor=handler)
    ticket_transition(
        ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler, reason="Legal reviews it this week."
    )
    ticket_transition(
        ticket_id=ticket.pk,
        to_status=TicketStatus.FULFILLED,
        actor=handler,
        reason="Signed copy attached.",
        attachment=pdf_upload(),
    )
    found = ticket_by_status_token(raw_token)
    assert found == ticket and found != other
    assert [(e.kind, e.to_status, e.message) for e in ticket_public_events(found)] == [
        (TicketEventKind.SUBMITTED, TicketStatus.OPEN, ""),
        (TicketEventKind.STATUS_CHANGED, TicketStatus.IN_PROGRESS, "Legal reviews it this week."),
        (TicketEventKind.STATUS_CHANGED, TicketStatus.FULFILLED, "Signed copy attached."),
    ]
    assert [a.original_name for a in ticket_public_attachments(found)] == ["Signed DPA.pdf"]
    outbox_send_due()
    acknowledgment = next(m for m in mail.outbox if "We are working on your request" in m.subject)
    assert "Legal reviews it this week." in acknowledgment.body
    assert not ticket_public_attachments(other).exists()
