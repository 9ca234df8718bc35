import datetime as dt
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.enums import MailStatus
from core.models import OutboxMail
from core.outbox import outbox_send_due
from requests_app.enums import TicketEventKind, TicketKind, TicketStatus
from requests_app.models import Ticket, TicketAttachment, TicketEvent
from requests_app.services import requester_reply, ticket_request_info, ticket_transition, tickets_purge_personal_data

from .conftest import pdf_upload, submit

PERSONAL = (
    "Ann Example",
    "ann@example.org",
    "ann.account@example.org",
    "Example GmbH",
    "Please countersign our DPA.",
    "203.0.113.9",
    "secret-order-42",
    "Account 4711",
)


def closed_dpa(handler):
    """A DPA that went the whole way: info requested, replied, fulfilled with a PDF, closed."""
    ticket, _ = submit(TicketKind.DPA, account_email="ann.account@example.org", order="secret-order-42")
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    ticket_request_info(ticket_id=ticket.pk, message="Which entity signs?", actor=handler)
    requester_reply(ticket_id=ticket.pk, message="Account 4711")
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=handler, attachment=pdf_upload())
    outbox_send_due()
    return ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.CLOSED, actor=handler)


def after_retention(days: int = 731) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


def everything_about(ticket: Ticket) -> str:
    rows = [str(Ticket.objects.filter(pk=ticket.pk).values().get())]
    rows += [str(h) for h in ticket.history.values()]
    rows += [str(m) for m in ticket.mails.values()]
    rows += [str(e) for e in TicketEvent.objects.filter(ticket=ticket).values()]
    rows += [str(a) for a in TicketAttachment.objects.filter(ticket=ticket).values()]
    return "\n".join(rows)


def test_purge_removes_personal_data_everywhere_and_keeps_the_evidence(db, handler, django_capture_on_commit_callbacks):
    ticket = closed_dpa(handler)
    attachment_path = Path(TicketAttachment.objects.get(ticket=ticket).file.path)
    assert attachment_path.exists()
    history_rows = ticket.history.count()
    before = everything_about(ticket)
    assert all(value in before for value in PERSONAL)

    with django_capture_on_commit_callbacks(execute=True):
        counts = tickets_purge_personal_data(now=after_retention())

    assert counts == {
        "tickets": 1,
        "history_rows": history_rows,
        "mails": 6,
        "attachments": 1,
        "messages": 1,
        "notes": 0,
    }
    after = everything_about(ticket)
    for value in PERSONAL:
        assert value not in after
    assert not attachment_path.exists()
    ticket.refresh_from_db()
    assert (ticket.requester_name, ticket.requester_email, ticket.form_data, ticket.submitted_ip) == ("", "", {}, None)
    assert ticket.personal_data_purged_at is not None
    # Evidence stays: reference, kind, status, dates, events, attachment hash.
    assert ticket.reference.startswith("DPA-") and ticket.status == TicketStatus.CLOSED
    assert ticket.fulfilled_at is not None and ticket.received_at is not None
    assert ticket.events.filter(kind=TicketEventKind.STATUS_CHANGED).count() == 5
    purge_event = ticket.events.last()
    assert (purge_event.kind, purge_event.actor.username, purge_event.message) == (
        TicketEventKind.RETENTION_PURGE,
        "system",
        "retention purge",
    )
    latest = ticket.history.first()
    assert (latest.history_user.username, latest.history_change_reason) == ("system", "retention purge")
    assert len(TicketAttachment.objects.get(ticket=ticket).sha256) == 64
    assert set(OutboxMail.objects.filter(ticket=ticket).values_list("to", "body_text", "body_html")) == {("", "", "")}


def test_second_run_purges_nothing(db, handler):
    closed_dpa(handler)
    tickets_purge_personal_data(now=after_retention())
    assert tickets_purge_personal_data(now=after_retention()) == {
        "tickets": 0,
        "history_rows": 0,
        "mails": 0,
        "attachments": 0,
        "messages": 0,
        "notes": 0,
    }


def test_legal_hold_recent_and_open_tickets_are_kept(db, handler):
    held = closed_dpa(handler)
    held.legal_hold = True
    held.save()
    recent = closed_dpa(handler)
    still_open, _ = submit()
    counts = tickets_purge_personal_data(now=timezone.now() + dt.timedelta(days=729))
    assert counts["tickets"] == 0
    counts = tickets_purge_personal_data(now=after_retention())
    assert counts["tickets"] == 1  # only `recent`, now old enough
    assert Ticket.objects.get(pk=held.pk).requester_email == "ann@example.org"
    assert Ticket.objects.get(pk=recent.pk).requester_email == ""
    assert Ticket.objects.get(pk=still_open.pk).requester_email == "ann@example.org"


def test_retention_period_is_configurable(db, handler, settings):
    settings.RETENTION_DAYS_AFTER_CLOSE = 30
    closed_dpa(handler)
    assert tickets_purge_personal_data(now=after_retention(31))["tickets"] == 1


def test_queued_mail_of_a_purged_ticket_is_not_sent(db, handler, settings):
    settings.EMAIL_BACKEND = "tests.requests_app.mail_backends.SmtpDownBackend"
    ticket = closed_dpa(handler)
    tickets_purge_personal_data(now=after_retention())
    assert set(OutboxMail.objects.filter(ticket=ticket).values_list("status", flat=True)) == {MailStatus.FAILED}


def test_command_prints_counts_only(db, handler, capsys, settings):
    settings.RETENTION_DAYS_AFTER_CLOSE = 0
    closed_dpa(handler)
    call_command("purge_requester_data")
    out = capsys.readouterr().out
    assert out.startswith("Purged 1 tickets (")
    assert "@" not in out and "Ann" not in out
    call_command("purge_requester_data")
    assert capsys.readouterr().out == (
        "Purged 0 tickets (0 history rows, 0 mails, 0 attachments, 0 messages, 0 notes).\n"
        "Document access log: 0 acceptances, 0 downloads, 0 grants.\n"
        "Subscribers: 0 deleted, 0 anonymised, 0 mails.\n"
    )


def test_ticket_history_is_append_only_outside_the_purge(db):
    from core.history import HistoryBypassError

    ticket, _ = submit()
    with pytest.raises(HistoryBypassError):
        Ticket.history.filter(id=ticket.pk).update(requester_name="changed")
    with pytest.raises(HistoryBypassError):
        ticket.history.all().delete()
    assert ticket.history.get().requester_name == "Ann Example"
