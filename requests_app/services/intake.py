"""Intake: a requester's submission becomes a ticket; identity verification."""

import datetime as dt
import json
import logging
import re
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import tokens
from core.history import stamp_history
from core.text import clean_email

from .. import deadlines
from ..enums import (
    ACTIVE_STATUSES,
    DATA_SUBJECT_KINDS,
    DOCUMENT_KINDS,
    KIND_PREFIX,
    TicketEventKind,
    TicketKind,
    TicketStatus,
)
from ..mail import STATUS, ticket_mail_queue
from ..models import Ticket, TicketSequence, VerificationToken
from ..selectors import ticket_status_token
from .common import (
    TicketConflict,
    clean_text,
    event_add,
    issue_verification,
    lock,
    mail_subject,
    staff_notify,
)
from .workflow import ticket_transition

logger = logging.getLogger(__name__)

SUBMISSION_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SUBMIT_REASON = "submitted by requester"


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


KNOWN_FIELDS = ("requester_name", "requester_email", "account_email", "legal_entity", "details")


def _clean_submission(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    if kind not in TicketKind.values:
        raise ValidationError("Unknown kind of request.", code="kind_unknown")
    cleaned = {
        # Data-subject requests need no name: the email address identifies the requester.
        "requester_name": clean_text(
            data.get("requester_name"), field="Name", required=kind in DOCUMENT_KINDS, max_length=200
        ),
        "requester_email": clean_email(data.get("requester_email"), field="Email", required=True),
        "account_email": clean_email(data.get("account_email"), field="Account email", required=False),
        "legal_entity": clean_text(
            data.get("legal_entity"), field="Legal entity", required=kind in DOCUMENT_KINDS, max_length=200
        ),
        "details": clean_text(data.get("details"), field="Details", required=False, max_length=10000),
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
        reference=_allocate_reference(kind, now),
        kind=kind,
        status=TicketStatus.AWAITING_VERIFICATION if is_dsr else TicketStatus.OPEN,
        **cleaned,
        submitted_ip=ip or None,
        received_at=now,
        due_at=due,
        original_due_at=due,
        status_changed_at=now,
        opened_at=None if is_dsr else now,
        verification_requested_at=now if is_dsr else None,
        status_link_nonce=nonce,
        status_token_hash=tokens.token_hash(tokens.make_token(STATUS, nonce)),
        submission_token=submission_token,
    )
    stamp_history(ticket, actor=None, reason=SUBMIT_REASON)
    ticket.save()
    event_add(ticket, kind=TicketEventKind.SUBMITTED, actor=None, now=now, to_status=ticket.status, visible=True)
    ticket_mail_queue(
        template="ticket_received",
        to=ticket.requester_email,
        subject=mail_subject(ticket, "We received your request"),
        ticket=ticket,
    )
    staff_notify(ticket, template="staff_new_ticket", subject=f"New request: {ticket.get_kind_display()}")
    if is_dsr:
        issue_verification(ticket, now=now)
        event_add(ticket, kind=TicketEventKind.VERIFICATION_REQUESTED, actor=None, now=now, visible=True)
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
        ticket = lock(vt.ticket_id, nowait=False)
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
        stamp_history(ticket, actor=None, reason="identity verified by the requester")
        ticket.save()
        event_add(
            ticket,
            kind=TicketEventKind.VERIFIED,
            actor=None,
            now=now,
            from_status=from_status,
            to_status=ticket.status if ticket.status != from_status else "",
            visible=True,
        )
    logger.info("Ticket id=%s verified", ticket.pk)
    return ticket


def ticket_resend_verification(*, ticket_id: int, actor: AbstractBaseUser) -> VerificationToken:
    """Send a fresh verification link; earlier unused links stop working, so
    only one is live at a time.

    Side effects: a VerificationToken and its mail; verification_requested_at;
    history row; a "verification_requested" event."""
    with transaction.atomic():
        ticket = lock(ticket_id)
        if ticket.status != TicketStatus.AWAITING_VERIFICATION:
            raise ValidationError("This ticket is not awaiting verification.", code="verification_not_pending")
        now = timezone.now()
        for old in ticket.verification_tokens.filter(used_at__isnull=True, expires_at__gt=now):
            old.expires_at = now
            old.save(update_fields=["expires_at"])
        token = issue_verification(ticket, now=now)
        ticket.verification_requested_at = now
        stamp_history(ticket, actor=actor, reason="verification link sent again")
        ticket.save()
        event_add(ticket, kind=TicketEventKind.VERIFICATION_REQUESTED, actor=actor, now=now, visible=True)
    return token


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
            ticket_transition(
                ticket_id=ticket_id,
                to_status=TicketStatus.EXPIRED,
                actor=actor,
                reason="The confirmation link was not used in time.",
                expected_status=TicketStatus.AWAITING_VERIFICATION,
            )
        except TicketConflict:
            continue
        count += 1
    return count
