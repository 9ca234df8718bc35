"""The staff workflow: status moves by the workflow table (`enums.STATES`), and
the other changes staff make to a ticket (assignment, extension, notes,
messages, hold)."""

import datetime as dt
import logging

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from core.history import stamp_history
from customers.services import customer_for_agreement

from .. import deadlines
from ..attachments import attachment_check
from ..enums import DOCUMENT_KINDS, STATES, Move, TicketEventKind, TicketStatus
from ..events import TicketFulfilled, TicketStateChanged, ticket_fulfilled, ticket_state_changed
from ..mail import ticket_mail_queue
from ..models import Ticket, TicketAttachment, TicketEvent, TicketNote
from .common import (
    MESSAGE_MAX_LENGTH,
    clean_message,
    event_add,
    expect_status,
    lock,
    mail_subject,
    staff_notify,
)

logger = logging.getLogger(__name__)


def _check_move(ticket: Ticket, to_status: str, *, reason: str, attachment: UploadedFile | None) -> Move:
    """The table's move from the ticket's state to `to_status`, if this call meets what it needs."""
    if to_status not in TicketStatus.values:
        raise ValidationError("Unknown status.", code="status_unknown")
    move = STATES[ticket.status].move_to(to_status)
    if move is None:
        raise ValidationError(
            f"A ticket cannot move from “{TicketStatus(ticket.status).label}” to “{TicketStatus(to_status).label}”.",
            code="transition_not_allowed",
        )
    if ticket.kind in move.identity_required_for and ticket.verified_at is None:
        raise ValidationError(
            "The requester's identity has not been verified; this request cannot be fulfilled yet. "
            "Resend the verification link, or record how you verified the identity another way.",
            code="verification_required",
        )
    if move.agent_check_required and ticket.acting_for_another and ticket.agent_checked_at is None:
        raise ValidationError(
            "This request was filed by someone acting for another person, and nobody has recorded their "
            "authority as checked; it cannot be fulfilled yet. Check it and record how, or reject the request.",
            code="agent_check_required",
        )
    if attachment is None and ticket.kind in move.file_required_for:
        raise ValidationError("Attach the countersigned document (PDF).", code="attachment_required")
    if attachment is not None and not move.takes_file:
        raise ValidationError("A file can only be attached when fulfilling.", code="attachment_not_expected")
    if move.reason is not None and move.reason.required and not reason:
        raise ValidationError(move.reason.missing, code=move.reason.code)
    return move


def _attachment_add(ticket: Ticket, upload: UploadedFile, *, actor: User | None, now: dt.datetime) -> TicketAttachment:
    name, sha256, size = attachment_check(upload)
    attachment = TicketAttachment(
        ticket=ticket,
        original_name=name,
        content_type="application/pdf",
        size=size,
        sha256=sha256,
        uploaded_by=actor,
        created_at=now,
        visible_to_requester=True,
    )
    attachment.file.save(name, upload, save=False)
    attachment.save()
    event_add(ticket, kind=TicketEventKind.ATTACHMENT_ADDED, actor=actor, now=now, message=name)
    return attachment


def transition_locked(
    ticket: Ticket,
    to_status: str,
    *,
    actor: User | None,
    reason: str,
    now: dt.datetime,
    attachment: UploadedFile | None = None,
    from_public_form: bool = False,
) -> TicketEvent:
    """Make a move of the table on a ticket the caller has locked, in the caller's
    transaction: check it, store the attachment, stamp the state's time, save
    with history, add the "status_changed" event and queue the requester's mail
    (counted against the daily cap of public-form mail when `from_public_form`:
    a move a public submission makes at once, like an auto-approved document
    request); a DPA or BAA moving to "fulfilled" is linked to its customer
    (`customers.services.customer_for_agreement`, created if need be); after
    commit, every move sends `TicketStateChanged` and a move to "fulfilled"
    also `TicketFulfilled`."""
    move = _check_move(ticket, to_status, reason=reason, attachment=attachment)
    stored = _attachment_add(ticket, attachment, actor=actor, now=now) if attachment is not None else None
    from_status, state = ticket.status, STATES[to_status]
    ticket.status = to_status
    ticket.status_changed_at = now
    if not (state.stamp_first_entry_only and getattr(ticket, state.stamp) is not None):
        setattr(ticket, state.stamp, now)
    stamp_history(ticket, actor=actor, reason=f"{from_status} → {to_status}" + (f": {reason}" if reason else ""))
    ticket.save()
    event = event_add(
        ticket,
        kind=TicketEventKind.STATUS_CHANGED,
        actor=actor,
        now=now,
        from_status=from_status,
        to_status=to_status,
        message=reason,
        visible=move.tells_requester,
    )
    if to_status == TicketStatus.FULFILLED and ticket.kind in DOCUMENT_KINDS:
        # A countersigned DPA or BAA makes (or names) the customer, in this
        # transaction: the link and the ticket's move commit together.
        customer_for_agreement(
            kind=ticket.kind,
            ticket_id=ticket.pk,
            ticket_reference=ticket.reference,
            legal_entity=ticket.legal_entity,
            contact_name=ticket.requester_name,
            contact_email=ticket.requester_email,
            signed_at=now,
            actor=actor,
        )
    to = ticket.answer_address  # empty once purged: such tickets mail no one
    if move.tells_requester and state.mail is not None and to:
        ticket_mail_queue(
            template=state.mail.template,
            to=to,
            subject=mail_subject(ticket, state.mail.subject),
            ticket=ticket,
            context={"reason": reason, "attachment": stored, "is_dsr": ticket.is_data_subject_request},
            from_public_form=from_public_form,
        )
    ticket_state_changed.send_on_commit(
        TicketStateChanged(reference=ticket.reference, kind=ticket.kind, from_state=from_status, to_state=to_status)
    )
    if to_status == TicketStatus.FULFILLED:
        # What fulfilling means beyond the workflow belongs to the app that owns
        # the kind (documents grants access), after this commits.
        ticket_fulfilled.send_on_commit(
            TicketFulfilled(ticket_id=ticket.pk, kind=ticket.kind, actor_id=actor.pk if actor else None)
        )
    return event


def ticket_transition(
    *,
    ticket_id: int,
    to_status: str,
    actor: User | None,
    reason: str = "",
    attachment: UploadedFile | None = None,
    expected_status: str | None = None,
    from_public_form: bool = False,
) -> Ticket:
    """Move a ticket to `to_status` if the transition table allows it.

    `expected_status` is the status the caller saw; when the ticket has moved
    since, the call is refused (code "ticket_changed") instead of overwriting.
    A row another transaction is changing is refused at once ("ticket_locked").
    Refusals come from the move's row in `STATES`: "transition_not_allowed";
    "verification_required" (fulfilling erasure, access or portability while
    identity is unconfirmed); "attachment_required" (DPA/BAA fulfilled without
    the countersigned PDF); "attachment_not_expected"; "reason_required" or
    "message_required" (a move whose text is required).

    Side effects: the new status and its per-state time; a history row with
    actor and reason; a "status_changed" event (shown to the requester when the
    move tells them); the attachment (fulfilment); the state's requester mail;
    after commit, `TicketFulfilled` for a move to "fulfilled" (documents grants
    access on it). `from_public_form`: see `transition_locked`.
    """
    reason = (reason or "").strip()
    if len(reason) > MESSAGE_MAX_LENGTH:
        raise ValidationError(f"Keep it under {MESSAGE_MAX_LENGTH} characters.", code="too_long")
    with transaction.atomic():
        ticket = lock(ticket_id)
        expect_status(ticket, expected_status)
        now = timezone.now()
        transition_locked(
            ticket,
            to_status,
            actor=actor,
            reason=reason,
            now=now,
            attachment=attachment,
            from_public_form=from_public_form,
        )
    logger.info("Ticket id=%s moved to %s", ticket.pk, to_status)
    return ticket


def ticket_request_info(*, ticket_id: int, message: str, actor: User, expected_status: str | None = None) -> Ticket:
    """Ask the requester for information: moves to `awaiting_requester`; the
    message is mailed and shown on the status page."""
    return ticket_transition(
        ticket_id=ticket_id,
        to_status=TicketStatus.AWAITING_REQUESTER,
        actor=actor,
        reason=message,
        expected_status=expected_status,
    )


def ticket_assign(*, ticket_id: int, assignee: User | None, actor: User) -> Ticket:
    """Assign the ticket to a staff member (or unassign with None).

    Side effects: history row; an "assigned" event (internal)."""
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise ValidationError("Tickets can only be assigned to active staff.", code="assignee_not_staff")
    with transaction.atomic():
        ticket = lock(ticket_id)
        if ticket.assignee_id == (assignee.pk if assignee else None):
            return ticket
        now = timezone.now()
        ticket.assignee = assignee
        label = assignee.get_username() if assignee else "nobody"
        stamp_history(ticket, actor=actor, reason=f"assigned to {label}")
        ticket.save()
        event_add(ticket, kind=TicketEventKind.ASSIGNED, actor=actor, now=now, message=f"Assigned to {label}")
    return ticket


def ticket_extend(*, ticket_id: int, reason: str, actor: User, new_due_date: dt.date | None = None) -> Ticket:
    """Extend the deadline once, with a reason, before the original deadline
    (GDPR Art. 12(3)); at most three months from receipt.

    Side effects: due_at, extended_at and extension_reason; history row; an
    "extended" event shown to the requester; a notice mail to the requester.
    """
    reason = (reason or "").strip()
    if len(reason) > MESSAGE_MAX_LENGTH:
        raise ValidationError(f"Keep it under {MESSAGE_MAX_LENGTH} characters.", code="too_long")
    with transaction.atomic():
        ticket = lock(ticket_id)
        if not STATES[ticket.status].active:
            raise ValidationError("Only open tickets can be extended.", code="ticket_not_active")
        now = timezone.now()
        new_due = deadlines.extended_due_at(
            kind=ticket.kind,
            received_at=ticket.received_at,
            original_due_at=ticket.original_due_at,
            extended_at=ticket.extended_at,
            now=now,
            new_due_date=new_due_date,
            reason=reason,
        )
        ticket.due_at, ticket.extended_at, ticket.extension_reason = new_due, now, reason
        stamp_history(ticket, actor=actor, reason=f"deadline extended: {reason}")
        ticket.save()
        event_add(ticket, kind=TicketEventKind.EXTENDED, actor=actor, now=now, message=reason, visible=True)
        ticket_mail_queue(
            template="deadline_extended",
            to=ticket.answer_address,
            subject=mail_subject(ticket, "We need more time for your request"),
            ticket=ticket,
            context={"reason": reason, "new_due_at": new_due},
        )
    return ticket


def ticket_set_legal_hold(*, ticket_id: int, legal_hold: bool, reason: str, actor: User) -> Ticket:
    """Place or release a legal hold; a held ticket is skipped by the retention purge.

    Side effects: history row and an internal "legal_hold" event, both with the reason."""
    reason = clean_message(reason, code="reason_required", what="the reason")
    with transaction.atomic():
        ticket = lock(ticket_id)
        if ticket.personal_data_purged_at is not None:
            raise ValidationError("This ticket's requester data has already been purged.", code="ticket_purged")
        if ticket.legal_hold == legal_hold:
            return ticket
        ticket.legal_hold = legal_hold
        what = "legal hold placed" if legal_hold else "legal hold released"
        stamp_history(ticket, actor=actor, reason=f"{what}: {reason}")
        ticket.save()
        event_add(ticket, kind=TicketEventKind.LEGAL_HOLD, actor=actor, now=timezone.now(), message=f"{what}: {reason}")
    return ticket


def ticket_add_note(*, ticket_id: int, body: str, actor: User) -> TicketNote:
    """Add an internal note (never shown or sent to the requester)."""
    body = clean_message(body, code="note_required", what="the note")
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        raise ValidationError("No such ticket.", code="ticket_not_found")
    return TicketNote.objects.create(ticket=ticket, author=actor, body=body, created_at=timezone.now())


def ticket_add_message(*, ticket_id: int, message: str, actor: User) -> TicketEvent:
    """Send the requester a message without changing the status.

    Side effects: a "message" event shown on the status page; a mail."""
    message = clean_message(message)
    with transaction.atomic():
        ticket = lock(ticket_id)
        if ticket.personal_data_purged_at is not None:
            raise ValidationError("This ticket's requester data has been purged.", code="ticket_purged")
        event = event_add(
            ticket, kind=TicketEventKind.MESSAGE, actor=actor, now=timezone.now(), message=message, visible=True
        )
        ticket_mail_queue(
            template="ticket_message",
            to=ticket.answer_address,
            subject=mail_subject(ticket, "A message about your request"),
            ticket=ticket,
            context={"message": message},
        )
    return event


def requester_reply(*, ticket_id: int, message: str) -> TicketEvent:
    """The requester answers from the status page.

    Side effects: a "requester_reply" event; the move the state makes on a
    reply (awaiting the requester: back to `in_progress`); a mail to staff."""
    message = clean_message(message)
    with transaction.atomic():
        ticket = lock(ticket_id, nowait=False)
        state = STATES[ticket.status]
        if not state.requester_may_reply:
            raise ValidationError("This request is not open for replies.", code="ticket_not_active")
        now = timezone.now()
        event = event_add(
            ticket, kind=TicketEventKind.REQUESTER_REPLY, actor=None, now=now, message=message, visible=True
        )
        if state.on_requester_reply:
            transition_locked(ticket, state.on_requester_reply, actor=None, reason="requester replied", now=now)
        staff_notify(ticket, template="staff_requester_reply", subject="The requester replied")
    return event
