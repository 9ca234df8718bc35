"""Helpers shared by the ticket services: input cleaning, the row lock, the
audit event, the history stamp and staff notification."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.urls import reverse

from accounts.roles import REQUEST_HANDLER
from core import tokens
from core.text import validate_single_line

from ..mail import VERIFY, ticket_mail_queue
from ..models import Ticket, TicketEvent, VerificationToken

MESSAGE_MAX_LENGTH = 5000


class TicketConflict(ValidationError):
    """Another change to the same ticket is under way or has just happened."""


def clean_text(value: Any, *, field: str, required: bool, max_length: int, one_line: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError(f"{field} is required.", code=f"{field.lower().replace(' ', '_')}_required")
    if len(text) > max_length:
        raise ValidationError(f"{field} is too long (at most {max_length} characters).", code="too_long")
    if one_line:
        try:
            validate_single_line(text)
        except ValidationError as error:
            raise ValidationError(f"{field}: {error.messages[0]}", code="control_characters") from None
    return text


def clean_message(message: str, *, code: str = "message_required", what: str = "a message") -> str:
    text = (message or "").strip()
    if not text:
        raise ValidationError(f"Write {what}.", code=code)
    if len(text) > MESSAGE_MAX_LENGTH:
        raise ValidationError(f"Keep it under {MESSAGE_MAX_LENGTH} characters.", code="too_long")
    return text


def event_add(
    ticket: Ticket,
    *,
    kind: str,
    actor: User | None,
    now: dt.datetime,
    from_status: str = "",
    to_status: str = "",
    message: str = "",
    visible: bool = False,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        message=message,
        visible_to_requester=visible,
        created_at=now,
    )


def mail_subject(ticket: Ticket, text: str) -> str:
    # Subjects name the reference only: they show up in logs and mail previews.
    return f"[{ticket.reference}] {text}"


def lock(ticket_id: int, *, nowait: bool = True) -> Ticket:
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


def expect_status(ticket: Ticket, expected_status: str | None) -> None:
    """Refuse to change a ticket that has moved since the caller looked at it."""
    if expected_status is not None and ticket.status != expected_status:
        raise TicketConflict(
            f"The ticket is now “{ticket.get_status_display()}”; someone else changed it. Reload the page.",
            code="ticket_changed",
        )


def staff_notify_addresses() -> list[str]:
    """Who hears of new tickets: STAFF_NOTIFY_EMAILS when set, otherwise every
    active member of the Request handler role who has an address."""
    if settings.STAFF_NOTIFY_EMAILS:
        return list(settings.STAFF_NOTIFY_EMAILS)
    return sorted(
        set(
            get_user_model()
            .objects.filter(groups__name=REQUEST_HANDLER, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )


def staff_notify(ticket: Ticket, *, template: str, subject: str, context: dict[str, Any] | None = None) -> None:
    for address in staff_notify_addresses():
        ticket_mail_queue(
            template=template,
            to=address,
            subject=mail_subject(ticket, subject),
            ticket=ticket,
            context={
                "admin_url": settings.SITE_URL + reverse("admin:requests_app_ticket_change", args=[ticket.pk]),
                **(context or {}),
            },
        )


def issue_verification(ticket: Ticket, *, now: dt.datetime, from_public_form: bool = False) -> VerificationToken:
    nonce, token_hash = tokens.new_token(VERIFY)
    vt = VerificationToken.objects.create(
        ticket=ticket,
        nonce=nonce,
        token_hash=token_hash,
        created_at=now,
        expires_at=now + dt.timedelta(days=settings.VERIFICATION_VALID_DAYS),
    )
    ticket_mail_queue(
        template="verify_identity",
        to=ticket.verification_address,
        subject=mail_subject(ticket, "Please confirm your request"),
        ticket=ticket,
        verification=vt,
        context={"expires_at": vt.expires_at},
        from_public_form=from_public_form,
    )
    return vt
