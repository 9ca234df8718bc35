"""Retention: requester personal data is purged from closed tickets.

This is the only code allowed to rewrite a ticket's history rows: the purge
must reach every copy of the data, and a history row is a copy. On
PostgreSQL a trigger refuses any other UPDATE or DELETE of those rows; the
purge switches it off for its own transaction through
`evidence.db.allow_history_purge`, which leaves a chained PurgeRecord saying
what ran, when and how many rows (counts only: no ticket, no requester). What stays is
the evidence: the ticket row with its reference, kind, dates and status, the
events (with requester-written text blanked), the mails' subjects and dates,
and the attachments' hashes.

Every one of those rows is chained with salted commitments to its personal
fields (`evidence.personal`); the purge deletes the salts of the ticket's
rows with the data, so the chain still verifies and keeps no way to confirm
what the values were.
"""

import datetime as dt
import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.enums import MailStatus
from core.history import stamp_history, system_actor
from core.storage import private_storage
from evidence.db import allow_history_purge
from evidence.personal import personal_data_forget

from .enums import TicketEventKind, TicketStatus
from .events import RetentionDue, retention_due
from .models import Ticket, TicketAttachment, TicketEvent, TicketNote, ticket_history_rewrite

logger = logging.getLogger(__name__)

RETENTION_REASON = "retention purge"
# What a PurgeRecord of this purge says; it is chained, so it names counts only.
PURGE_RECORD_REASON = "retention purge of ticket history: {rows} rows of 1 closed ticket"

PURGED_VALUES: dict[str, Any] = {
    "requester_name": "",
    "requester_email": "",
    "account_email": "",
    "legal_entity": "",
    "details": "",
    "form_data": {},
    "submitted_ip": None,
}


def tickets_due_for_purge(now: dt.datetime) -> "list[int]":
    cutoff = now - dt.timedelta(days=settings.RETENTION_DAYS_AFTER_CLOSE)
    return list(
        Ticket.objects.filter(
            status=TicketStatus.CLOSED,
            closed_at__lte=cutoff,
            legal_hold=False,
            personal_data_purged_at__isnull=True,
        )
        .order_by("closed_at", "id")
        .values_list("pk", flat=True)
    )


def tickets_purge_personal_data(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Purge requester personal data from tickets closed longer than
    RETENTION_DAYS_AFTER_CLOSE, except those on legal hold.

    Per ticket, in one transaction: the personal fields of the ticket and of
    all its history rows; recipients and bodies of its mails; its attachment
    files (deleted after commit); requester-written event text; then a history
    row and a "retention purge" event by the system actor. Returns counts only.
    """
    now = now or timezone.now()
    actor = system_actor()
    counts = {"tickets": 0, "history_rows": 0, "mails": 0, "attachments": 0, "replies": 0}
    for ticket_id in tickets_due_for_purge(now):
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
            if ticket.legal_hold or ticket.personal_data_purged_at is not None:
                continue
            history = Ticket.history.filter(id=ticket.pk)
            # The ticket is locked, so no history row of it appears before the update.
            with connection.cursor() as cursor:
                allow_history_purge(
                    cursor,
                    reason=PURGE_RECORD_REASON.format(rows=history.count()),
                    actor_username=actor.username,
                )
            with ticket_history_rewrite():
                counts["history_rows"] += history.update(**PURGED_VALUES)
            for field, value in PURGED_VALUES.items():
                setattr(ticket, field, value)
            ticket.personal_data_purged_at = now
            stamp_history(ticket, actor=actor, reason=RETENTION_REASON)
            ticket.save()
            # A mail still queued after so long will never go out; it has no recipient now.
            ticket.mails.filter(status=MailStatus.QUEUED).update(status=MailStatus.FAILED, last_error=RETENTION_REASON)
            counts["mails"] += ticket.mails.filter(purged_at__isnull=True).update(
                to="", body_text="", body_html="", purged_at=now
            )
            for attachment in TicketAttachment.objects.filter(ticket=ticket, purged_at__isnull=True):
                name = attachment.file.name
                attachment.file = ""
                attachment.original_name = ""
                attachment.purged_at = now
                attachment.save(update_fields=["file", "original_name", "purged_at"])
                transaction.on_commit(partial(private_storage().delete, name))
                counts["attachments"] += 1
            TicketAttachment.history.filter(ticket_id=ticket.pk).exclude(original_name="").update(original_name="")
            counts["replies"] += (
                TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.REQUESTER_REPLY)
                .exclude(message="")
                .update(message="")
            )
            _salts_forget(ticket)
            TicketEvent.objects.create(
                ticket=ticket,
                actor=actor,
                kind=TicketEventKind.RETENTION_PURGE,
                message=RETENTION_REASON,
                created_at=now,
            )
            counts["tickets"] += 1
        logger.info("Ticket id=%s %s: requester data purged", ticket.pk, ticket.reference)
    return counts


def _salts_forget(ticket: Ticket) -> None:
    """The salts of the personal fields of every chained row of `ticket`:
    its versions, events, notes and attachment versions."""
    personal_data_forget(Ticket.history.filter(id=ticket.pk))
    personal_data_forget(TicketEvent.objects.filter(ticket=ticket))
    personal_data_forget(TicketNote.objects.filter(ticket=ticket))
    personal_data_forget(TicketAttachment.history.filter(ticket_id=ticket.pk))


def retention_purge_all(*, now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    """Every retention purge: the tickets', then `RetentionDue` for the other
    apps (documents, subscriptions), each purging its own data.

    Returns the counts by name, sorted ("tickets" and what the receivers
    reported); a receiver that failed is logged and missing here, and its purge
    is redone by the next run.
    """
    now = now or timezone.now()
    event = RetentionDue(now=now)
    event.counts["tickets"] = tickets_purge_personal_data(now=now)
    retention_due.send_now(event)
    return dict(sorted(event.counts.items()))
