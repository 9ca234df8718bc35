"""TicketFulfilled is sent after the fulfilment commits; RetentionDue reaches every app's purge."""

import pytest
from django.db import transaction

from core.events import recorded
from requests_app.enums import TicketKind, TicketStatus
from requests_app.events import RetentionDue, TicketFulfilled, retention_due, ticket_fulfilled
from requests_app.models import Ticket
from requests_app.retention import retention_purge_all
from requests_app.services import ticket_transition

from .conftest import pdf_upload, submit


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fulfilment_is_announced_after_it_commits(handler):
    ticket, _ = submit(TicketKind.DPA)
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    with recorded(ticket_fulfilled) as seen:
        with transaction.atomic():
            ticket_transition(
                ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=handler, attachment=pdf_upload()
            )
            assert seen == []
        assert seen == [TicketFulfilled(ticket_id=ticket.pk, kind=TicketKind.DPA, actor_id=handler.pk)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rolled_back_fulfilment_is_never_announced(handler):
    ticket, _ = submit(TicketKind.DPA)
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    with recorded(ticket_fulfilled) as seen, pytest.raises(RuntimeError), transaction.atomic():
        ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=handler, attachment=pdf_upload())
        raise RuntimeError("the caller's transaction fails afterwards")
    assert (seen, Ticket.objects.get(pk=ticket.pk).status) == ([], TicketStatus.IN_PROGRESS)


def test_other_moves_are_not_announced(db, handler, django_capture_on_commit_callbacks):
    ticket, _ = submit(TicketKind.DPA)
    with recorded(ticket_fulfilled) as seen, django_capture_on_commit_callbacks(execute=True):
        ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
        ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.REJECTED, actor=handler, reason="No contract")
    assert seen == []


def test_a_retention_run_asks_every_app_to_purge_and_reports_their_counts(db, clock):
    with recorded(retention_due) as seen:
        results = retention_purge_all()
    assert seen == [RetentionDue(now=clock.now)]
    assert results == {
        "documents": {"acceptances": 0, "downloads": 0, "grants": 0},
        "subscribers": {"deleted": 0, "anonymised": 0, "mails": 0},
        "tickets": {"tickets": 0, "history_rows": 0, "mails": 0, "attachments": 0, "messages": 0, "notes": 0},
    }


def test_a_failing_purge_is_left_out_and_the_others_still_run(db, clock, caplog):
    def broken(event: RetentionDue) -> None:
        raise OSError("disk gone")

    retention_due.connect(broken, dispatch_uid="tests.broken_purge")
    try:
        results = retention_purge_all()
    finally:
        retention_due.disconnect(dispatch_uid="tests.broken_purge")
    assert sorted(results) == ["documents", "subscribers", "tickets"]
    assert [r.getMessage() for r in caplog.records if r.name == "core.events"] == [
        "Receiver test_a_failing_purge_is_left_out_and_the_others_still_run.<locals>.broken of RetentionDue failed"
    ]
