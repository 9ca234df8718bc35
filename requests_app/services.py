"""Every write to tickets goes through here.

Each service runs in one transaction and leaves, in that transaction, the
ticket change, its history row (actor and reason), a `TicketEvent` and the
outbox mail the change implies. Services raise `ValidationError` with a code;
`TicketConflict` (a ValidationError) when another change got there first.
Personal data of requesters is never logged: logs name ticket ids and references.
"""

import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from . import deadlines, tokens
from .attachments import attachment_check
from .enums import (
    ACTIVE_STATUSES, ALLOWED_TRANSITIONS, DATA_SUBJECT_KINDS, DOCUMENT_KINDS, KIND_PREFIX,
    VERIFIED_TO_FULFIL_KINDS, TicketEventKind, TicketKind, TicketStatus,
)
from .models import (
    Ticket, TicketAttachment, TicketEvent, TicketNote, TicketSequence, VerificationToken,
)
from .outbox import outbox_queue
from .selectors import ticket_by_status_token, ticket_status_token  # noqa: F401  (public API)

logger = logging.getLogger(__name__)

MESSAGE_MAX_LENGTH = 5000
SUBMISSION_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SUBMIT_REASON = "submitted by requester"

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
# Moves whose reason is sent to the requester (and so shown on the status page).
REASON_SENT_TO_REQUESTER = frozenset(
    {TicketStatus.AWAITING_REQUESTER, TicketStatus.FULFILLED, TicketStatus.REJECTED,
     TicketStatus.WITHDRAWN, TicketStatus.EXPIRED}
)


# What fulfilling a ticket of a kind does besides the workflow, registered by the
# app that owns the kind (documents: access requests grant access) from its
# AppConfig.ready(). Called as hook(ticket=, actor=, now=) in the transaction of
# the move, so the ticket is never fulfilled without its effect, nor the reverse.
FULFIL_HOOKS: dict[str, Callable[..., None]] = {}


class TicketConflict(ValidationError):
    """Another change to the same ticket is under way or has just happened."""


# ---------------------------------------------------------------- helpers


def _clean_text(value: Any, *, field: str, required: bool, max_length: int) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError(f"{field} is required.", code=f"{field.lower().replace(' ', '_')}_required")
    if len(text) > max_length:
        raise ValidationError(f"{field} is too long (at most {max_length} characters).", code="too_long")
    return text


def _clean_message(message: str, *, code: str = "message_required", what: str = "a message") -> str:
    text = (message or "").strip()
    if not text:
        raise ValidationError(f"Write {what}.", code=code)
    if len(text) > MESSAGE_MAX_LENGTH:
        raise ValidationError(f"Keep it under {MESSAGE_MAX_LENGTH} characters.", code="too_long")
    return text


def _clean_email(value: Any, *, field: str, required: bool) -> str:
    text = str(value or "").strip()
    if not text:
        if required:
            raise ValidationError(f"{field} is required.", code=f"{field.lower().replace(' ', '_')}_required")
        return ""
    try:
        validate_email(text)
    except ValidationError:
        raise ValidationError(f"{field} is not a valid address.", code="email_invalid") from None
    return text


def _stamp_history(ticket: Ticket, *, actor: AbstractBaseUser | None, reason: str) -> None:
    ticket._history_user = actor  # type: ignore[attr-defined]
    ticket._change_reason = reason[:1000]  # type: ignore[attr-defined]


def _event(
    ticket: Ticket, *, kind: str, actor: AbstractBaseUser | None, now: dt.datetime,
    from_status: str = "", to_status: str = "", message: str = "", visible: bool = False,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket, actor=actor, kind=kind, from_status=from_status, to_status=to_status,
        message=message, visible_to_requester=visible, created_at=now,
    )


def _subject(ticket: Ticket, text: str) -> str:
    # Subjects name the reference only: they show up in logs and mail previews.
    return f"[{ticket.reference}] {text}"


def _lock(ticket_id: int, *, nowait: bool = True) -> Ticket:
    """Lock the ticket row for this transaction. With `nowait`, a row that
    another transaction holds is a conflict at once rather than a wait."""
    try:
        with transaction.atomic():
            return Ticket.objects.select_for_update(nowait=nowait).get(pk=ticket_id)
    except Ticket.DoesNotExist:
        raise ValidationError("No such ticket.", code="ticket_not_found") from None
    except DatabaseError:
        raise TicketConflict(
            "Someone else is changing this ticket right now. Reload the page and try again.",
            code="ticket_locked",
        ) from None


def _allocate_reference(kind: str, received_at: dt.datetime) -> str:
    prefix = KIND_PREFIX[kind]
    year = deadlines.local_date(received_at).year
    sequence, _ = TicketSequence.objects.get_or_create(prefix=prefix, year=year)
    # The row lock serialises concurrent submissions of one prefix; a rolled
    # back submission rolls its number back too.
    sequence = TicketSequence.objects.select_for_update().get(pk=sequence.pk)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return f"{prefix}-{year}-{sequence.last_value:06d}"


def _staff_notify(ticket: Ticket, *, template: str, subject: str, context: dict[str, Any] | None = None) -> None:
    for address in settings.STAFF_NOTIFY_EMAILS:
        outbox_queue(
            template=template, to=address, subject=_subject(ticket, subject), ticket=ticket,
            context={"admin_url": f"{settings.SITE_URL}/admin/requests_app/ticket/{ticket.pk}/change/", **(context or {})},
        )


def _issue_verification(ticket: Ticket, *, now: dt.datetime) -> VerificationToken:
    nonce = tokens.new_nonce()
    vt = VerificationToken.objects.create(
        ticket=ticket, nonce=nonce, token_hash=tokens.token_hash(tokens.make_token(tokens.VERIFY, nonce)),
        created_at=now, expires_at=now + dt.timedelta(days=settings.VERIFICATION_VALID_DAYS),
    )
    outbox_queue(
        template="verify_identity", to=ticket.verification_address,
        subject=_subject(ticket, "Please confirm your request"), ticket=ticket, verification=vt,
        context={"expires_at": vt.expires_at},
    )
    return vt


# ---------------------------------------------------------------- intake

KNOWN_FIELDS = ("requester_name", "requester_email", "account_email", "legal_entity", "details")


def _clean_submission(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    if kind not in TicketKind.values:
        raise ValidationError("Unknown kind of request.", code="kind_unknown")
    cleaned = {
        "requester_name": _clean_text(data.get("requester_name"), field="Name", required=True, max_length=200),
        "requester_email": _clean_email(data.get("requester_email"), field="Email", required=True),
        "account_email": _clean_email(data.get("account_email"), field="Account email", required=False),
        "legal_entity": _clean_text(
            data.get("legal_entity"), field="Legal entity", required=kind in DOCUMENT_KINDS, max_length=200
        ),
        "details": _clean_text(data.get("details"), field="Details", required=False, max_length=10000),
    }
    form_data = {key: value for key, value in data.items() if key not in KNOWN_FIELDS}
    try:
        encoded = json.dumps(form_data, default=None)
    except (TypeError, ValueError):
        raise ValidationError("Form answers must be plain values.", code="form_data_invalid") from None
    if len(encoded) > 20000:
        raise ValidationError("Form answers are too long.", code="too_long")
    cleaned["form_data"] = form_data
    return cleaned


def ticket_submit(
    *, kind: str, data: dict[str, Any], submission_token: str, ip: str | None = None
) -> tuple[Ticket, str]:
    """Create a ticket from a requester's submission; returns (ticket, raw status token).

    `data` holds requester_name, requester_email, account_email, legal_entity,
    details; any other key is kept in `form_data`. A repeated `submission_token`
    (a retried POST, also a concurrent one) returns the existing ticket and
    changes nothing.

    Side effects, in one transaction: the Ticket (reference from the per-prefix
    per-year counter) and its history row; a "submitted" event; an
    acknowledgment mail with the private status link; a mail to each of
    STAFF_NOTIFY_EMAILS; for data-subject kinds status `awaiting_verification`,
    a VerificationToken and a mail with the single-use verification link to the
    account's address.
    """
    if not SUBMISSION_TOKEN_RE.match(submission_token or ""):
        raise ValidationError("The form has expired; reload it and send again.", code="submission_token_invalid")
    existing = Ticket.objects.filter(submission_token=submission_token).first()
    if existing is not None:
        return existing, ticket_status_token(existing)
    cleaned = _clean_submission(kind, data)
    try:
        with transaction.atomic():
            ticket = _ticket_create(kind=kind, cleaned=cleaned, submission_token=submission_token, ip=ip)
    except IntegrityError:
        # A concurrent POST with the same token won the unique constraint.
        existing = Ticket.objects.filter(submission_token=submission_token).first()
        if existing is None:
            raise
        return existing, ticket_status_token(existing)
    logger.info("Ticket id=%s %s submitted (%s)", ticket.pk, ticket.reference, ticket.kind)
    return ticket, ticket_status_token(ticket)


def _ticket_create(*, kind: str, cleaned: dict[str, Any], submission_token: str, ip: str | None) -> Ticket:
    now = timezone.now()
    is_dsr = kind in DATA_SUBJECT_KINDS
    due = deadlines.due_at_for(kind=kind, received_at=now)
    nonce = tokens.new_nonce()
    ticket = Ticket(
        reference=_allocate_reference(kind, now), kind=kind,
        status=TicketStatus.AWAITING_VERIFICATION if is_dsr else TicketStatus.OPEN,
        **cleaned, submitted_ip=ip or None, received_at=now, due_at=due, original_due_at=due,
        status_changed_at=now, opened_at=None if is_dsr else now,
        verification_requested_at=now if is_dsr else None,
        status_link_nonce=nonce, status_token_hash=tokens.token_hash(tokens.make_token(tokens.STATUS, nonce)),
        submission_token=submission_token,
    )
    _stamp_history(ticket, actor=None, reason=SUBMIT_REASON)
    ticket.save()
    _event(ticket, kind=TicketEventKind.SUBMITTED, actor=None, now=now, to_status=ticket.status, visible=True)
    outbox_queue(
        template="ticket_received", to=ticket.requester_email,
        subject=_subject(ticket, "We received your request"), ticket=ticket,
    )
    _staff_notify(ticket, template="staff_new_ticket", subject=f"New {ticket.get_kind_display()} request")
    if is_dsr:
        _issue_verification(ticket, now=now)
        _event(ticket, kind=TicketEventKind.VERIFICATION_REQUESTED, actor=None, now=now, visible=True)
    return ticket


def ticket_verify(*, raw_token: str) -> Ticket:
    """Confirm a requester's identity through a verification link.

    Single use; expires after VERIFICATION_VALID_DAYS. Side effects: the token
    is marked used; the ticket's verified_at is stamped; a ticket awaiting
    verification moves to `open`; a "verified" event.
    """
    invalid = ValidationError("This confirmation link is not valid.", code="verification_invalid")
    if not raw_token or len(raw_token) > 100:
        raise invalid
    now = timezone.now()
    with transaction.atomic():
        vt = VerificationToken.objects.select_for_update().filter(token_hash=tokens.token_hash(raw_token)).first()
        if vt is None:
            raise invalid
        if vt.used_at is not None:
            raise ValidationError("This confirmation link has already been used.", code="verification_used")
        if vt.expires_at <= now:
            raise ValidationError("This confirmation link has expired.", code="verification_expired")
        ticket = _lock(vt.ticket_id, nowait=False)
        if ticket.status not in ACTIVE_STATUSES:
            raise ValidationError("This request is no longer open.", code="ticket_not_active")
        vt.used_at = now
        vt.save(update_fields=["used_at"])
        from_status = ticket.status
        if ticket.verified_at is None:
            ticket.verified_at = now
        if from_status == TicketStatus.AWAITING_VERIFICATION:
            ticket.status = TicketStatus.OPEN
            ticket.opened_at = now
            ticket.status_changed_at = now
        _stamp_history(ticket, actor=None, reason="identity verified by the requester")
        ticket.save()
        _event(
            ticket, kind=TicketEventKind.VERIFIED, actor=None, now=now, from_status=from_status,
            to_status=ticket.status if ticket.status != from_status else "", visible=True,
        )
    logger.info("Ticket id=%s verified", ticket.pk)
    return ticket


# ---------------------------------------------------------------- workflow


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
    if to_status == TicketStatus.REJECTED and not reason:
        raise ValidationError("Give the reason for the rejection; it is sent to the requester.", code="reason_required")
    if to_status == TicketStatus.AWAITING_REQUESTER and not reason:
        raise ValidationError("Write what you need from the requester.", code="message_required")


def _attachment_add(ticket: Ticket, upload: UploadedFile, *, actor: AbstractBaseUser | None, now: dt.datetime) -> TicketAttachment:
    name, sha256, size = attachment_check(upload)
    attachment = TicketAttachment(
        ticket=ticket, original_name=name, content_type="application/pdf", size=size, sha256=sha256,
        uploaded_by=actor, created_at=now, visible_to_requester=True,
    )
    attachment.file.save(name, upload, save=False)
    attachment.save()
    _event(ticket, kind=TicketEventKind.ATTACHMENT_ADDED, actor=actor, now=now, message=name)
    return attachment


def _transition_mail(ticket: Ticket, *, from_status: str, to_status: str, reason: str,
                     attachment: TicketAttachment | None) -> None:
    context = {"reason": reason, "attachment": attachment, "is_dsr": ticket.is_data_subject_request}
    to = ticket.requester_email
    if not to:
        return  # purged tickets mail no one
    if to_status == TicketStatus.IN_PROGRESS and from_status == TicketStatus.OPEN:
        outbox_queue(template="ticket_in_progress", to=to, subject=_subject(ticket, "We are working on your request"),
                     ticket=ticket, context=context)
    elif to_status == TicketStatus.AWAITING_REQUESTER:
        outbox_queue(template="info_requested", to=to, subject=_subject(ticket, "We need more information"),
                     ticket=ticket, context=context)
    elif to_status == TicketStatus.FULFILLED:
        outbox_queue(template="ticket_fulfilled", to=to, subject=_subject(ticket, "Your request is complete"),
                     ticket=ticket, context=context)
    elif to_status == TicketStatus.REJECTED:
        outbox_queue(template="ticket_rejected", to=to, subject=_subject(ticket, "Decision on your request"),
                     ticket=ticket, context=context)
    elif to_status == TicketStatus.WITHDRAWN:
        outbox_queue(template="ticket_withdrawn", to=to, subject=_subject(ticket, "Your request was withdrawn"),
                     ticket=ticket, context=context)
    elif to_status == TicketStatus.EXPIRED:
        outbox_queue(template="ticket_expired", to=to, subject=_subject(ticket, "Your request was not confirmed"),
                     ticket=ticket, context=context)


def _apply_transition(
    ticket: Ticket, to_status: str, *, actor: AbstractBaseUser | None, reason: str, now: dt.datetime,
    attachment: TicketAttachment | None = None,
) -> TicketEvent:
    from_status = ticket.status
    ticket.status = to_status
    ticket.status_changed_at = now
    stamp = STATE_STAMP[to_status]
    if not (to_status in FIRST_ENTRY_ONLY and getattr(ticket, stamp) is not None):
        setattr(ticket, stamp, now)
    _stamp_history(
        ticket, actor=actor,
        reason=f"{from_status} → {to_status}" + (f": {reason}" if reason else ""),
    )
    ticket.save()
    event = _event(
        ticket, kind=TicketEventKind.STATUS_CHANGED, actor=actor, now=now, from_status=from_status,
        to_status=to_status, message=reason,
        visible=to_status in REASON_SENT_TO_REQUESTER or from_status == TicketStatus.OPEN,
    )
    _transition_mail(ticket, from_status=from_status, to_status=to_status, reason=reason, attachment=attachment)
    return event


def ticket_transition(
    *, ticket_id: int, to_status: str, actor: AbstractBaseUser | None, reason: str = "",
    attachment: UploadedFile | None = None, expected_status: str | None = None,
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
        ticket = _lock(ticket_id)
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


def ticket_request_info(*, ticket_id: int, message: str, actor: AbstractBaseUser,
                        expected_status: str | None = None) -> Ticket:
    """Ask the requester for information: moves to `awaiting_requester`; the
    message is mailed and shown on the status page."""
    message = _clean_message(message, what="what you need from the requester")
    return ticket_transition(ticket_id=ticket_id, to_status=TicketStatus.AWAITING_REQUESTER, actor=actor,
                             reason=message, expected_status=expected_status)


def ticket_assign(*, ticket_id: int, assignee: AbstractBaseUser | None, actor: AbstractBaseUser) -> Ticket:
    """Assign the ticket to a staff member (or unassign with None).

    Side effects: history row; an "assigned" event (internal)."""
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise ValidationError("Tickets can only be assigned to active staff.", code="assignee_not_staff")
    with transaction.atomic():
        ticket = _lock(ticket_id)
        if ticket.assignee_id == (assignee.pk if assignee else None):
            return ticket
        now = timezone.now()
        ticket.assignee = assignee
        label = assignee.get_username() if assignee else "nobody"
        _stamp_history(ticket, actor=actor, reason=f"assigned to {label}")
        ticket.save()
        _event(ticket, kind=TicketEventKind.ASSIGNED, actor=actor, now=now, message=f"Assigned to {label}")
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
        ticket = _lock(ticket_id)
        if ticket.status not in ACTIVE_STATUSES:
            raise ValidationError("Only open tickets can be extended.", code="ticket_not_active")
        now = timezone.now()
        new_due = deadlines.extended_due_at(
            kind=ticket.kind, received_at=ticket.received_at, original_due_at=ticket.original_due_at,
            extended_at=ticket.extended_at, now=now, new_due_date=new_due_date, reason=reason,
        )
        ticket.due_at, ticket.extended_at, ticket.extension_reason = new_due, now, reason
        _stamp_history(ticket, actor=actor, reason=f"deadline extended: {reason}")
        ticket.save()
        _event(ticket, kind=TicketEventKind.EXTENDED, actor=actor, now=now, message=reason, visible=True)
        outbox_queue(
            template="deadline_extended", to=ticket.requester_email,
            subject=_subject(ticket, "We need more time for your request"), ticket=ticket,
            context={"reason": reason, "new_due_at": new_due},
        )
    return ticket


def ticket_add_note(*, ticket_id: int, body: str, actor: AbstractBaseUser) -> TicketNote:
    """Add an internal note (never shown or sent to the requester)."""
    body = _clean_message(body, code="note_required", what="the note")
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        raise ValidationError("No such ticket.", code="ticket_not_found")
    return TicketNote.objects.create(ticket=ticket, author=actor, body=body, created_at=timezone.now())


def ticket_add_message(*, ticket_id: int, message: str, actor: AbstractBaseUser) -> TicketEvent:
    """Send the requester a message without changing the status.

    Side effects: a "message" event shown on the status page; a mail."""
    message = _clean_message(message)
    with transaction.atomic():
        ticket = _lock(ticket_id)
        if ticket.personal_data_purged_at is not None:
            raise ValidationError("This ticket's requester data has been purged.", code="ticket_purged")
        event = _event(ticket, kind=TicketEventKind.MESSAGE, actor=actor, now=timezone.now(),
                       message=message, visible=True)
        outbox_queue(template="ticket_message", to=ticket.requester_email,
                     subject=_subject(ticket, "A message about your request"), ticket=ticket,
                     context={"message": message})
    return event


def requester_reply(*, ticket_id: int, message: str) -> TicketEvent:
    """The requester answers from the status page.

    Side effects: a "requester_reply" event; a ticket awaiting the requester
    moves back to `in_progress`; a mail to staff."""
    message = _clean_message(message)
    with transaction.atomic():
        ticket = _lock(ticket_id, nowait=False)
        if ticket.status not in ACTIVE_STATUSES:
            raise ValidationError("This request is closed; replies are no longer accepted.", code="ticket_not_active")
        now = timezone.now()
        event = _event(ticket, kind=TicketEventKind.REQUESTER_REPLY, actor=None, now=now,
                       message=message, visible=True)
        if ticket.status == TicketStatus.AWAITING_REQUESTER:
            _apply_transition(ticket, TicketStatus.IN_PROGRESS, actor=None, reason="requester replied", now=now)
        _staff_notify(ticket, template="staff_requester_reply", subject="The requester replied")
    return event


def tickets_expire_unverified(*, now: dt.datetime | None = None, actor: AbstractBaseUser | None = None) -> int:
    """Move tickets whose verification links have all expired unused to `expired`.

    Returns how many. Side effects per ticket as in `ticket_transition`."""
    now = now or timezone.now()
    candidates = (
        Ticket.objects.filter(status=TicketStatus.AWAITING_VERIFICATION)
        .exclude(verification_tokens__expires_at__gt=now)
        .values_list("pk", flat=True)
    )
    count = 0
    for ticket_id in list(candidates):
        try:
            ticket_transition(ticket_id=ticket_id, to_status=TicketStatus.EXPIRED, actor=actor,
                              reason="The confirmation link was not used in time.",
                              expected_status=TicketStatus.AWAITING_VERIFICATION)
        except TicketConflict:
            continue
        count += 1
    return count


# Retention lives in its own module; re-exported here as part of the service API.
from .retention import tickets_purge_personal_data  # noqa: E402,F401
