"""Identity of data-subject requesters: the mailed link, staff verification by
other means, resending the link, and expiry of requests never confirmed.

Confirming identity is one fact however it happens: `verified_at` is stamped
and a "verified" event names who confirmed it (nobody: the requester's link)
and how. Where the state says so (`State.on_identity_confirmed`), the ticket
then moves through `transition_locked`, like every other move.
"""

import datetime as dt
import logging

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import tokens
from core.history import stamp_history

from ..enums import STATES, TicketEventKind, TicketStatus
from ..models import Ticket, VerificationToken
from .common import TicketConflict, clean_message, event_add, expect_status, issue_verification, lock
from .workflow import ticket_transition, transition_locked

logger = logging.getLogger(__name__)

BY_LINK = "identity verified by the requester through the link"


def _links_retire(ticket: Ticket, *, now: dt.datetime) -> None:
    """Unused links stop working: only one is live at a time, none after confirmation."""
    for old in ticket.verification_tokens.filter(used_at__isnull=True, expires_at__gt=now):
        old.expires_at = now
        old.save(update_fields=["expires_at"])


def _identity_confirm(ticket: Ticket, *, actor: User | None, how: str, now: dt.datetime) -> None:
    """Record the confirmed identity on a locked ticket and make the state's move for it."""
    ticket.verified_at = now
    # The requester sees their own confirmation; how staff verified someone stays internal.
    event_add(
        ticket,
        kind=TicketEventKind.VERIFIED,
        actor=actor,
        now=now,
        message="" if actor is None else how,
        visible=actor is None,
    )
    target = STATES[ticket.status].on_identity_confirmed
    if target:
        transition_locked(ticket, target, actor=actor, reason=how, now=now)
    else:
        stamp_history(ticket, actor=actor, reason=how)
        ticket.save()


def ticket_verify(*, raw_token: str) -> Ticket:
    """Confirm a requester's identity through a verification link.

    Single use; expires after VERIFICATION_VALID_DAYS; usable while the ticket
    is active. Side effects: the token is marked used; on a ticket whose
    identity was not confirmed yet, `verified_at`, a "verified" event shown to
    the requester, and the state's move (awaiting verification: to `open`,
    with its "status_changed" event); a history row.
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
        if not STATES[ticket.status].active:
            raise ValidationError("This request is no longer open.", code="ticket_not_active")
        vt.used_at = now
        vt.save(update_fields=["used_at"])
        if ticket.verified_at is None:
            _identity_confirm(ticket, actor=None, how=BY_LINK, now=now)
    logger.info("Ticket id=%s verified", ticket.pk)
    return ticket


def _pending(ticket_id: int, *, expected_status: str | None) -> Ticket:
    """Lock a ticket whose identity is still to be confirmed."""
    ticket = lock(ticket_id)
    expect_status(ticket, expected_status)
    if not ticket.identity_pending:
        raise ValidationError("This ticket is not awaiting verification.", code="verification_not_pending")
    return ticket


def ticket_verify_otherwise(*, ticket_id: int, method: str, actor: User, expected_status: str | None = None) -> Ticket:
    """Staff confirmed the requester's identity by other means (a call to the
    account's number, a signed letter) and record how; it counts as
    verification. Mail still goes only to the addresses the ticket holds.

    Refusals: "method_required"; "verification_not_pending" (not a data-subject
    request, already verified, or no longer active); "ticket_changed".
    Side effects: unused links stop working; `verified_at`; an internal
    "verified" event with the actor and the method; the state's move
    (awaiting verification: to `open`); a history row with the method.
    """
    method = clean_message(method, code="method_required", what="how you verified the requester's identity")
    with transaction.atomic():
        ticket = _pending(ticket_id, expected_status=expected_status)
        now = timezone.now()
        _links_retire(ticket, now=now)
        _identity_confirm(ticket, actor=actor, how=f"identity verified another way: {method}", now=now)
    logger.info("Ticket id=%s verified by staff", ticket.pk)
    return ticket


def ticket_agent_check(*, ticket_id: int, method: str, actor: User, expected_status: str | None = None) -> Ticket:
    """A handler checked the authority of someone acting for the person
    concerned (a signed authorisation, a power of attorney, the person
    confirming directly) and records how. Fulfilment needs it besides the
    identity of the person concerned; answers still go only to that person's
    account address, never to the agent.

    Refusals: "method_required"; "agent_check_not_pending" (not filed for
    another person, already checked, or no longer active); "ticket_changed".
    Side effects: `agent_checked_at`; an internal "agent_checked" event with
    the actor and the method; a history row with the method.
    """
    method = clean_message(method, code="method_required", what="how you checked the agent's authority")
    with transaction.atomic():
        ticket = lock(ticket_id)
        expect_status(ticket, expected_status)
        if not ticket.agent_review_pending:
            raise ValidationError(
                "This ticket has no agent's authority waiting to be checked.", code="agent_check_not_pending"
            )
        now = timezone.now()
        how = f"agent's authority checked: {method}"
        ticket.agent_checked_at = now
        event_add(ticket, kind=TicketEventKind.AGENT_CHECKED, actor=actor, now=now, message=how, visible=False)
        stamp_history(ticket, actor=actor, reason=how)
        ticket.save()
    logger.info("Ticket id=%s: agent's authority recorded as checked", ticket.pk)
    return ticket


def ticket_resend_verification(*, ticket_id: int, actor: User) -> VerificationToken:
    """Send a fresh verification link, in any active state while identity is
    unconfirmed; earlier unused links stop working, so only one is live.

    Side effects: a VerificationToken and its mail; verification_requested_at;
    history row; a "verification_requested" event."""
    with transaction.atomic():
        ticket = _pending(ticket_id, expected_status=None)
        now = timezone.now()
        _links_retire(ticket, now=now)
        token = issue_verification(ticket, now=now)
        ticket.verification_requested_at = now
        stamp_history(ticket, actor=actor, reason="verification link sent again")
        ticket.save()
        event_add(ticket, kind=TicketEventKind.VERIFICATION_REQUESTED, actor=actor, now=now, visible=True)
    return token


def tickets_expire_unverified(*, now: dt.datetime | None = None, actor: User | None = None) -> int:
    """Move tickets awaiting verification whose links have all expired unused to `expired`.

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
