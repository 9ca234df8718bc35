"""The staff workflow: status moves by the transition table, and the other
changes staff make to a ticket (assignment, extension, notes, messages, hold)."""

import datetime as dt
import logging
from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from core.history import stamp_history

from .. import deadlines
from ..attachments import attachment_check
from ..enums import (
    ACTIVE_STATUSES,
    ALLOWED_TRANSITIONS,
    DOCUMENT_KINDS,
    VERIFIED_TO_FULFIL_KINDS,
    TicketEventKind,
    TicketStatus,
)
from ..mail import ticket_mail_queue
from ..models import Ticket, TicketAttachment, TicketEvent, TicketNote
from .common import (
    MESSAGE_MAX_LENGTH,
    TicketConflict,
    clean_message,
    event_add,
    lock,
    mail_subject,
    staff_notify,
)

logger = logging.getLogger(__name__)

# What fulfilling a ticket of a kind does besides the workflow, registered by the
# app that owns the kind (documents: access requests grant access) from its
# AppConfig.ready(). Called as hook(ticket=, actor=, now=) in the transaction of
# the move, so the ticket is never fulfilled without its effect, nor the reverse.
FULFIL_HOOKS: dict[str, Callable[..., None]] = {}

# Column stamped when a ticket enters a state.
STATE_STAMP: dict[str, str] = {
    TicketStatus.OPEN: "opened_at",
    TicketStatus.IN_PROGRESS: "acknowledged_at",
    TicketStatus.AWAITING_REQUESTER: "info_requested_at",
    TicketStatus.FULFILLED: "fulfilled_at",
    TicketStatus.REJECTED: "rejected_at",
    TicketStatus.WITHDRAWN: "withdrawn_at",
    TicketStatus.EXPIRED: "expired_at",
    TicketStatus.CLOSED: "closed_at",
}
# Stamped on first entry only: acknowledgment is a one-time fact.
FIRST_ENTRY_ONLY = frozenset({TicketStatus.IN_PROGRESS})
# Moves whose reason is sent to the requester (and so shown on the status page);
# so is the acknowledgment (open -> in_progress).
REASON_SENT_TO_REQUESTER = frozenset(
    {
        TicketStatus.AWAITING_REQUESTER,
        TicketStatus.FULFILLED,
        TicketStatus.REJECTED,
        TicketStatus.WITHDRAWN,
        TicketStatus.EXPIRED,
    }
)


def _check_transition(ticket: Ticket, to_status: str, *, reason: str, attachment: UploadedFile | None) -> None:
    if to_status not in TicketStatus.values:
        raise ValidationError("Unknown status.", code="status_unknown")
    if to_status not in ALLOWED_TRANSITIONS[ticket.status]:
        raise ValidationError(
            f"A ticket cannot move from “{TicketStatus(ticket.status).label}” to “{TicketStatus(to_status).label}”.",
            code="transition_not_allowed",
        )
    if to_status == TicketStatus.FULFILLED:
        if ticket.kind in VERIFIED_TO_FULFIL_KINDS and ticket.verified_at is None:
            raise ValidationError(
                "The requester's identity has not been verified; this request cannot be fulfilled yet.",
                code="verification_required",
            )
        if ticket.kind in DOCUMENT_KINDS and attachment is None:
            raise ValidationError("Attach the countersigned document (PDF).", code="attachment_required")
    elif attachment is not None:
        raise ValidationError("A file can only be attached when fulfilling.", code="attachment_not_expected")
    if to_status == TicketStatus.OPEN and not reason:
        # Opening without the link is a staff decision on identity (EDPB
        # Guidelines 01/2022): it is recorded with its reason.
        raise ValidationError(
            "Say how the requester's identity was established instead of the link.", code="reason_required"
        )
    if to_status == TicketStatus.REJECTED and not reason:
        raise ValidationError("Give the reason for the rejection; it is sent to the requester.", code="reason_required")
    if to_status == TicketStatus.AWAITING_REQUESTER and not reason:
        raise ValidationError("Write what you need from the requester.", code="message_required")


def _attachment_add(
    ticket: Ticket, upload: UploadedFile, *, actor: AbstractBaseUser | None, now: dt.datetime
) -> TicketAttachment:
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


# The mail a requester gets when their ticket enters a state (from open, for in_progress).
REQUESTER_MAIL_ON_ENTRY: dict[str, tuple[str, str]] = {
    TicketStatus.IN_PROGRESS: ("ticket_in_progress", "We are working on your request"),
    TicketStatus.AWAITING_REQUESTER: ("info_requested", "We need more information"),
    TicketStatus.FULFILLED: ("ticket_fulfilled", "Your request is complete"),
    TicketStatus.REJECTED: ("ticket_rejected", "Decision on your request"),
    TicketStatus.WITHDRAWN: ("ticket_withdrawn", "Your request was withdrawn"),
    TicketStatus.EXPIRED: ("ticket_expired", "Your request was not confirmed"),
}


def _transition_mail(
    ticket: Ticket, *, from_status: str, to_status: str, reason: str, attachment: TicketAttachment | None
) -> None:
    context = {"reason": reason, "attachment": attachment, "is_dsr": ticket.is_data_subject_request}
    to = ticket.requester_email
    if not to:
        return  # purged tickets mail no one
    if to_status == TicketStatus.IN_PROGRESS and from_status != TicketStatus.OPEN:
        return  # resuming after the requester answered: they already know
    mail = REQUESTER_MAIL_ON_ENTRY.get(to_status)
    if mail is not None:
        template, subject = mail
        ticket_mail_queue(
            template=template, to=to, subject=mail_subject(ticket, subject), ticket=ticket, context=context
        )


def _apply_transition(
    ticket: Ticket,
    to_status: str,
    *,
    actor: AbstractBaseUser | None,
    reason: str,
    now: dt.datetime,
    attachment: TicketAttachment | None = None,
) -> TicketEvent:
    from_status = ticket.status
    ticket.status = to_status
    ticket.status_changed_at = now
    stamp = STATE_STAMP[to_status]
    if not (to_status in FIRST_ENTRY_ONLY and getattr(ticket, stamp) is not None):
        setattr(ticket, stamp, now)
    stamp_history(
        ticket,
        actor=actor,
        reason=f"{from_status} → {to_status}" + (f": {reason}" if reason else ""),
    )
    ticket.save()
    event = event_add(
        ticket,
        kind=TicketEventKind.STATUS_CHANGED,
        actor=actor,
        now=now,
        from_status=from_status,
        to_status=to_status,
        message=reason,
        visible=to_status in REASON_SENT_TO_REQUESTER or from_status == TicketStatus.OPEN,
    )
    _transition_mail(ticket, from_status=from_status, to_status=to_status, reason=reason, attachment=attachment)
    return event


def ticket_transition(
    *,
    ticket_id: int,
    to_status: str,
    actor: AbstractBaseUser | None,
    reason: str = "",
    attachment: UploadedFile | None = None,
    expected_status: str | None = None,
) -> Ticket:
    """Move a ticket to `to_status` if the transition table allows it.

    `expected_status` is the status the caller saw; when the ticket has moved
    since, the call is refused (code "ticket_changed") instead of overwriting.
    A row another transaction is changing is refused at once ("ticket_locked").
    Refusals: "transition_not_allowed"; "verification_required" (fulfilling
    erasure, access or portability unverified); "attachment_required" (DPA/BAA
    fulfilled without the countersigned PDF); "reason_required" (rejection);
    "message_required" (request for information).

    Side effects: the new status and its per-state time; a history row with
    actor and reason; a "status_changed" event; the attachment (fulfilment);
    the requester's mail the move implies.
    """
    reason = (reason or "").strip()
    if len(reason) > MESSAGE_MAX_LENGTH:
        raise ValidationError(f"Keep it under {MESSAGE_MAX_LENGTH} characters.", code="too_long")
    with transaction.atomic():
        ticket = lock(ticket_id)
        if expected_status is not None and ticket.status != expected_status:
            raise TicketConflict(
                f"The ticket is now “{TicketStatus(ticket.status).label}”; someone else changed it. Reload the page.",
                code="ticket_changed",
            )
        _check_transition(ticket, to_status, reason=reason, attachment=attachment)
        now = timezone.now()
        stored = _attachment_add(ticket, attachment, actor=actor, now=now) if attachment is not None else None
        _apply_transition(ticket, to_status, actor=actor, reason=reason, now=now, attachment=stored)
        if to_status == TicketStatus.FULFILLED and ticket.kind in FULFIL_HOOKS:
            FULFIL_HOOKS[ticket.kind](ticket=ticket, actor=actor, now=now)
    logger.info("Ticket id=%s moved to %s", ticket.pk, to_status)
    return ticket


def ticket_request_info(
    *, ticket_id: int, message: str, actor: AbstractBaseUser, expected_status: str | None = None
) -> Ticket:
    """Ask the requester for information: moves to `awaiting_requester`; the
    message is mailed and shown on the status page."""
    message = clean_message(message, what="what you need from the requester")
    return ticket_transition(
        ticket_id=ticket_id,
        to_status=TicketStatus.AWAITING_REQUESTER,
        actor=actor,
        reason=message,
        expected_status=expected_status,
    )


def ticket_assign(*, ticket_id: int, assignee: AbstractBaseUser | None, actor: AbstractBaseUser) -> Ticket:
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


def ticket_extend(
    *, ticket_id: int, reason: str, actor: AbstractBaseUser, new_due_date: dt.date | None = None
) -> Ticket:
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
        if ticket.status not in ACTIVE_STATUSES:
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
            to=ticket.requester_email,
            subject=mail_subject(ticket, "We need more time for your request"),
            ticket=ticket,
            context={"reason": reason, "new_due_at": new_due},
        )
    return ticket


def ticket_set_legal_hold(*, ticket_id: int, legal_hold: bool, reason: str, actor: AbstractBaseUser) -> Ticket:
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


def ticket_add_note(*, ticket_id: int, body: str, actor: AbstractBaseUser) -> TicketNote:
    """Add an internal note (never shown or sent to the requester)."""
    body = clean_message(body, code="note_required", what="the note")
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        raise ValidationError("No such ticket.", code="ticket_not_found")
    return TicketNote.objects.create(ticket=ticket, author=actor, body=body, created_at=timezone.now())


def ticket_add_message(*, ticket_id: int, message: str, actor: AbstractBaseUser) -> TicketEvent:
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
            to=ticket.requester_email,
            subject=mail_subject(ticket, "A message about your request"),
            ticket=ticket,
            context={"message": message},
        )
    return event


def requester_reply(*, ticket_id: int, message: str) -> TicketEvent:
    """The requester answers from the status page.

    Side effects: a "requester_reply" event; a ticket awaiting the requester
    moves back to `in_progress`; a mail to staff."""
    message = clean_message(message)
    with transaction.atomic():
        ticket = lock(ticket_id, nowait=False)
        if ticket.status not in ACTIVE_STATUSES:
            raise ValidationError("This request is closed; replies are no longer accepted.", code="ticket_not_active")
        now = timezone.now()
        event = event_add(
            ticket, kind=TicketEventKind.REQUESTER_REPLY, actor=None, now=now, message=message, visible=True
        )
        if ticket.status == TicketStatus.AWAITING_REQUESTER:
            _apply_transition(ticket, TicketStatus.IN_PROGRESS, actor=None, reason="requester replied", now=now)
        staff_notify(ticket, template="staff_requester_reply", subject="The requester replied")
    return event
