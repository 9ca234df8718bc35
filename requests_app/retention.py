"""Retention: requester personal data is purged from closed tickets.

This is the only code allowed to rewrite a ticket's history rows: the purge
must reach every copy of the data, and a history row is a copy. On
PostgreSQL a trigger refuses any other UPDATE or DELETE of those rows; the
purge switches it off for its own transaction through
`evidence.db.allow_history_purge`, which leaves a chained PurgeRecord naming
the ticket's reference, when it ran and how many history rows it rewrote
(never the requester).

What goes: the requester's fields on the ticket and on every history row;
the correspondence (requester replies, staff messages) and internal notes;
mail recipients, bodies, headers and links; attachment files and names; and,
in every text staff wrote that stays as evidence (reasons of moves and of
history rows, the verification method, the extension reason), the ticket's
personal values (see `redaction`). What stays is the evidence: the ticket
row with its reference, kind, status, times and actors, the events with
their redacted texts, the mails' subjects and dates, the attachments'
hashes. Documents and subscriptions purge what they hold on `RetentionDue`.

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
from .redaction import redact, ticket_personal_values

logger = logging.getLogger(__name__)

RETENTION_REASON = "retention purge"
# What a PurgeRecord of this purge says, besides the ticket's reference; it is
# chained, so it names counts only, never the requester.
PURGE_RECORD_REASON = "retention purge of ticket history: {rows} rows of 1 closed ticket"
# What the command prints, in this order.
PURGE_COUNTS = ("tickets", "history_rows", "mails", "attachments", "messages", "notes")
# Events whose text is correspondence with the requester: emptied, not redacted.
CORRESPONDENCE = (TicketEventKind.REQUESTER_REPLY, TicketEventKind.MESSAGE)

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

    Per ticket, in one transaction opened by `allow_history_purge` (a chained
    PurgeRecord naming the ticket's reference): the personal fields of the
    ticket and of all its history rows; requester replies, staff messages
    and internal notes emptied; the ticket's personal values taken out of
    every other text staff wrote (history reasons, extension reason, event
    texts, see `redaction`); its mails lose recipient, bodies, headers and
    links; its attachment files are deleted after commit and their names
    blanked; then a history row and a "retention purge" event by the system
    actor. Returns counts only.
    """
    now = now or timezone.now()
    actor = system_actor()
    counts = dict.fromkeys(PURGE_COUNTS, 0)
    for ticket_id in tickets_due_for_purge(now):
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
            if ticket.legal_hold or ticket.personal_data_purged_at is not None:
                continue
            history = Ticket.history.filter(id=ticket.pk)
            # The ticket is locked, so no history row of it appears meanwhile.
            values = ticket_personal_values(ticket).union(*(ticket_personal_values(row) for row in history))
            with connection.cursor() as cursor:
                allow_history_purge(
                    cursor,
                    reason=PURGE_RECORD_REASON.format(rows=history.count()),
                    actor_username=actor.username,
                    reference=ticket.reference,
                )
            counts["history_rows"] += _history_purge(ticket, values)
            for field, value in PURGED_VALUES.items():
                setattr(ticket, field, value)
            ticket.extension_reason = redact(ticket.extension_reason, values)
            ticket.personal_data_purged_at = now
            stamp_history(ticket, actor=actor, reason=RETENTION_REASON)
            ticket.save()
            counts["mails"] += _mails_purge(ticket, values, now=now)
            counts["attachments"] += _attachments_purge(ticket, now=now)
            messages, notes = _texts_purge(ticket, values)
            counts["messages"] += messages
            counts["notes"] += notes
            TicketAttachment.history.filter(ticket_id=ticket.pk).exclude(original_name="").update(original_name="")
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


def _history_purge(ticket: Ticket, values: set[str]) -> int:
    """Blank the personal fields of every history row of `ticket`, and take
    `values` out of the reasons and extension reasons they recorded."""
    history = Ticket.history.filter(id=ticket.pk)
    with ticket_history_rewrite():
        rows = history.update(**PURGED_VALUES)
        for row_id, reason, extension in history.values_list("history_id", "history_change_reason", "extension_reason"):
            cleaned = {"history_change_reason": redact(reason or "", values) or reason}
            cleaned["extension_reason"] = redact(extension, values)
            if (cleaned["history_change_reason"], cleaned["extension_reason"]) != (reason, extension):
                Ticket.history.filter(history_id=row_id).update(**cleaned)
    return rows


def _mails_purge(ticket: Ticket, values: set[str], *, now: dt.datetime) -> int:
    # A mail still queued after so long will never go out; it has no recipient now.
    ticket.mails.filter(status=MailStatus.QUEUED).update(status=MailStatus.FAILED, last_error=RETENTION_REASON)
    purged = 0
    for mail in ticket.mails.filter(purged_at__isnull=True):
        # Subjects name the reference only; a value is taken out all the same.
        mail.to, mail.subject = "", redact(mail.subject, values)
        mail.body_text, mail.body_html, mail.headers, mail.links = "", "", {}, {}
        mail.purged_at = now
        mail.save(update_fields=["to", "subject", "body_text", "body_html", "headers", "links", "purged_at"])
        purged += 1
    return purged


def _attachments_purge(ticket: Ticket, *, now: dt.datetime) -> int:
    purged = 0
    for attachment in TicketAttachment.objects.filter(ticket=ticket, purged_at__isnull=True):
        name = attachment.file.name
        attachment.file = ""
        attachment.original_name = ""
        attachment.purged_at = now
        attachment.save(update_fields=["file", "original_name", "purged_at"])
        transaction.on_commit(partial(private_storage().delete, name))
        purged += 1
    return purged


def _texts_purge(ticket: Ticket, values: set[str]) -> tuple[int, int]:
    """Empty the correspondence (requester replies, staff messages) and the
    internal notes; take `values` out of every other event text (reasons,
    verification method, attachment names). Returns (messages, notes) emptied."""
    events = TicketEvent.objects.filter(ticket=ticket)
    messages = events.filter(kind__in=CORRESPONDENCE).exclude(message="").update(message="")
    for event in events.exclude(kind__in=CORRESPONDENCE).exclude(message=""):
        cleaned = redact(event.message, values)
        if cleaned != event.message:
            event.message = cleaned
            event.save(update_fields=["message"])
    notes = TicketNote.objects.filter(ticket=ticket).exclude(body="").update(body="")
    return messages, notes


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
