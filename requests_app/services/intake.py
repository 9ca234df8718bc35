"""Intake: a requester's submission becomes a ticket."""

import datetime as dt
import json
import logging
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import tokens
from core.history import stamp_history
from core.text import clean_email

from .. import deadlines
from ..enums import DATA_SUBJECT_KINDS, DOCUMENT_KINDS, KIND_PREFIX, STATES, TicketEventKind, TicketKind, initial_status
from ..events import TicketCreated, ticket_created
from ..mail import STATUS, ticket_mail_queue
from ..models import Ticket, TicketSequence
from ..selectors import ticket_status_token
from .common import clean_text, event_add, issue_verification, mail_subject, staff_notify

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


KNOWN_FIELDS = ("requester_name", "requester_email", "account_email", "legal_entity", "details", "acting_for_another")


def _clean_submission(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    if kind not in TicketKind.values:
        raise ValidationError("Unknown kind of request.", code="kind_unknown")
    cleaned: dict[str, Any] = {
        # Data-subject requests need no name: the email address identifies the requester.
        "requester_name": clean_text(
            data.get("requester_name"), field="Name", required=kind in DOCUMENT_KINDS, max_length=200
        ),
        "requester_email": clean_email(data.get("requester_email"), field="Email", required=True),
        "account_email": clean_email(data.get("account_email"), field="Account email", required=False),
        "legal_entity": clean_text(
            data.get("legal_entity"), field="Legal entity", required=kind in DOCUMENT_KINDS, max_length=200
        ),
        "details": clean_text(data.get("details"), field="Details", required=False, max_length=10000, one_line=False),
        # Someone asking for another person: only data-subject requests, and only with that person's account address.
        "acting_for_another": data.get("acting_for_another") is True,
    }
    if cleaned["acting_for_another"] and (kind not in DATA_SUBJECT_KINDS or not cleaned["account_email"]):
        raise ValidationError(
            "A request for another person needs the email address of their account.", code="account_email_required"
        )
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
    STAFF_NOTIFY_EMAILS; the status `initial_status` names, with its time
    stamped; for data-subject kinds a VerificationToken and a mail with the
    single-use verification link to the account's address; after commit,
    `TicketCreated` (reference and kind). The mails to the
    requester count against the daily cap of public-form mail per address and
    are withheld over it (`core.outbox.outbox_queue`); the ticket is made all the same.
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
    due = deadlines.due_at_for(kind=kind, received_at=now)
    nonce = tokens.new_nonce()
    status = initial_status(kind)
    ticket = Ticket(
        reference=_allocate_reference(kind, now),
        kind=kind,
        status=status,
        **cleaned,
        submitted_ip=ip or None,
        received_at=now,
        due_at=due,
        original_due_at=due,
        status_changed_at=now,
        **{STATES[status].stamp: now},
        status_link_nonce=nonce,
        status_token_hash=tokens.token_hash(tokens.make_token(STATUS, nonce)),
        submission_token=submission_token,
    )
    stamp_history(ticket, actor=None, reason=SUBMIT_REASON)
    ticket.save()
    event_add(ticket, kind=TicketEventKind.SUBMITTED, actor=None, now=now, to_status=ticket.status, visible=True)
    ticket_mail_queue(
        template="ticket_received",
        to=ticket.answer_address,
        subject=mail_subject(ticket, "We received your request"),
        ticket=ticket,
        from_public_form=True,
    )
    staff_notify(ticket, template="staff_new_ticket", subject=f"New request: {ticket.get_kind_display()}")
    if kind in DATA_SUBJECT_KINDS:
        issue_verification(ticket, now=now, from_public_form=True)
        event_add(ticket, kind=TicketEventKind.VERIFICATION_REQUESTED, actor=None, now=now, visible=True)
    ticket_created.send_on_commit(TicketCreated(reference=ticket.reference, kind=ticket.kind))
    return ticket
