"""Reads shared by the admin, the requester's pages and the jobs."""

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from core import tokens
from core.enums import MailStatus

from .enums import ACTIVE_STATUSES
from .mail import STATUS
from .models import Ticket, TicketAttachment, TicketEvent


def ticket_by_status_token(raw_token: str) -> Ticket | None:
    """The ticket a private status link opens, or None."""
    if not raw_token or len(raw_token) > 100:
        return None
    return Ticket.objects.filter(status_token_hash=tokens.token_hash(raw_token)).first()


def ticket_status_token(ticket: Ticket) -> str:
    """The raw token of the ticket's private status link (for mails and redirects)."""
    return tokens.recover_token(STATUS, ticket.status_link_nonce, ticket.status_token_hash)


def ticket_mail_withheld(ticket: Ticket) -> bool:
    """Whether a mail to the requester was withheld because their address had
    reached the daily cap of mail from public forms."""
    return ticket.mails.filter(status=MailStatus.WITHHELD).exists()


def ticket_public_events(ticket: Ticket) -> QuerySet[TicketEvent]:
    """Events the requester may see on the status page (never internal notes)."""
    return ticket.events.filter(visible_to_requester=True).order_by("created_at", "id")


def ticket_public_attachments(ticket: Ticket) -> QuerySet[TicketAttachment]:
    return ticket.attachments.filter(visible_to_requester=True, purged_at__isnull=True)


def tickets_overdue(now: dt.datetime | None = None) -> QuerySet[Ticket]:
    return Ticket.objects.filter(status__in=ACTIVE_STATUSES, due_at__lt=now or timezone.now())


def tickets_due_soon(now: dt.datetime | None = None) -> QuerySet[Ticket]:
    now = now or timezone.now()
    return Ticket.objects.filter(
        status__in=ACTIVE_STATUSES,
        due_at__gte=now,
        due_at__lte=now + dt.timedelta(days=settings.DUE_SOON_DAYS),
    )
