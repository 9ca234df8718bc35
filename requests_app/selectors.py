"""Reads shared by the admin, the requester's pages and the jobs."""

import datetime as dt

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import tokens
from core.enums import MailStatus
from evidence.models import PurgeRecord

from .enums import ACTIVE_STATUSES, TicketEventKind, TicketStatus
from .mail import STATUS
from .models import Ticket, TicketAttachment, TicketAudit, TicketEvent


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


def _event_actor(*, newest: bool, **filters: object) -> Subquery:
    order = ("-created_at", "-id") if newest else ("created_at", "id")
    events = TicketEvent.objects.filter(ticket=OuterRef("pk"), **filters).order_by(*order)
    return Subquery(events.values("actor__username")[:1])


def tickets_for_audit() -> QuerySet[TicketAudit]:
    """Tickets with what the auditor's view shows beyond the ticket's own
    times, one subquery each (so a page costs one query): `answered_at` (when
    the company gave its answer, fulfilment or rejection), who acknowledged
    (first move to "in progress"), answered and closed it (latest moves), who
    verified identity (None: the requester, by the link) and how, who checked
    the authority of someone acting for another person and how, and the
    retention purge that named the ticket. Requester data is loaded only so
    that staff text can be shown without it (`redaction`)."""
    events = TicketEvent.objects.filter(ticket=OuterRef("pk")).order_by("-created_at", "-id")
    verified = events.filter(kind=TicketEventKind.VERIFIED)
    agent_checked = events.filter(kind=TicketEventKind.AGENT_CHECKED)
    return TicketAudit.objects.annotate(
        answered_at=Coalesce("fulfilled_at", "rejected_at"),
        acknowledged_by=_event_actor(newest=False, to_status=TicketStatus.IN_PROGRESS),
        answered_by=_event_actor(newest=True, to_status__in=[TicketStatus.FULFILLED, TicketStatus.REJECTED]),
        closed_by=_event_actor(newest=True, to_status=TicketStatus.CLOSED),
        verified_by=Subquery(verified.values("actor__username")[:1]),
        verified_by_staff=Exists(verified.filter(actor__isnull=False)),
        verification_method=Subquery(verified.values("message")[:1]),
        agent_checked_by=Subquery(agent_checked.values("actor__username")[:1]),
        agent_check_method=Subquery(agent_checked.values("message")[:1]),
        purge_record_id=Subquery(
            PurgeRecord.objects.filter(reference=OuterRef("reference")).order_by("-ran_at", "-id").values("pk")[:1]
        ),
    )


ON_TIME = Q(answered_at__lte=F("due_at"))
LATE = Q(answered_at__gt=F("due_at"))


def tickets_answered_on_time(
    queryset: QuerySet[TicketAudit], answer: str, *, now: dt.datetime
) -> QuerySet[TicketAudit]:
    """Filter `tickets_for_audit()` by the answer against the due date: "yes"
    (answered by it), "no" (answered after it, or still open past it), "open"
    (not answered, not due yet), "none" (withdrawn or expired unanswered)."""
    unanswered = Q(answered_at__isnull=True)
    active = Q(status__in=ACTIVE_STATUSES)
    return {
        "yes": queryset.filter(ON_TIME),
        "no": queryset.filter(LATE | (unanswered & active & Q(due_at__lt=now))),
        "open": queryset.filter(unanswered & active & Q(due_at__gte=now)),
        "none": queryset.filter(unanswered & ~active),
    }.get(answer, queryset)


def answer_on_time(ticket: TicketAudit, *, now: dt.datetime) -> str:
    """One annotated ticket's answer against its due date, as the filter of
    `tickets_answered_on_time` sorts it: "yes", "no", "open" or "none"."""
    answered_at = getattr(ticket, "answered_at", None)
    if answered_at is not None:
        return "yes" if answered_at <= ticket.due_at else "no"
    if ticket.status in ACTIVE_STATUSES:
        return "no" if ticket.due_at < now else "open"
    return "none"
