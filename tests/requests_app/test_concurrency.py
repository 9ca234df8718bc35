"""Races that only a real database with row locks can show (PostgreSQL)."""

import threading
from functools import partial

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from core.models import OutboxMail
from core.outbox import outbox_send_one
from requests_app.enums import TicketEventKind, TicketKind, TicketStatus
from requests_app.models import Ticket
from requests_app.services import TicketConflict, ticket_submit, ticket_transition, ticket_verify

# serialized_rollback: restore the roles that migrations created, for the tests that follow.
from tests.concurrency import race

from .conftest import REQUESTER, new_submission_token, sent_link, submit, ticket_in

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_two_concurrent_transitions_one_wins_one_conflicts(handler):
    for _ in range(5):  # several rounds, so both orders of arrival are likely exercised
        ticket = ticket_in(TicketStatus.IN_PROGRESS, handler)
        results = race(
            partial(
                ticket_transition,
                ticket_id=ticket.pk,
                to_status=TicketStatus.FULFILLED,
                actor=handler,
                expected_status=TicketStatus.IN_PROGRESS,
            ),
            partial(
                ticket_transition,
                ticket_id=ticket.pk,
                to_status=TicketStatus.REJECTED,
                actor=handler,
                reason="duplicate",
                expected_status=TicketStatus.IN_PROGRESS,
            ),
        )
        winners = [r for r in results if isinstance(r, Ticket)]
        losers = [r for r in results if isinstance(r, ValidationError)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert isinstance(losers[0], TicketConflict)
        assert losers[0].code in {"ticket_locked", "ticket_changed"}
        final = Ticket.objects.get(pk=ticket.pk)
        assert final.status == winners[0].status
        moves = final.events.filter(kind=TicketEventKind.STATUS_CHANGED, from_status=TicketStatus.IN_PROGRESS)
        assert list(moves.values_list("to_status", flat=True)) == [final.status]


def test_transition_of_a_locked_ticket_is_refused_at_once(handler):
    ticket, _ = submit(TicketKind.DPA)
    locked = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        try:
            with transaction.atomic():
                Ticket.objects.select_for_update().get(pk=ticket.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert locked.wait(10)
    try:
        with pytest.raises(TicketConflict) as exc:
            ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
        assert exc.value.code == "ticket_locked"
    finally:
        release.set()
        holder.join(10)
    # Once released, the same move goes through.
    assert ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler).status == (
        TicketStatus.IN_PROGRESS
    )


def test_concurrent_retries_of_one_submission_make_one_ticket():
    token = new_submission_token()
    results = race(
        *[(lambda: ticket_submit(kind=TicketKind.DPA, data=dict(REQUESTER), submission_token=token)) for _ in range(4)]
    )
    assert all(isinstance(r, tuple) for r in results), results
    assert len({ticket.pk for ticket, _ in results}) == 1
    assert len({raw for _, raw in results}) == 1
    assert Ticket.objects.count() == 1
    assert OutboxMail.objects.count() == 2
    year = timezone.now().year
    assert Ticket.objects.get().reference == f"DPA-{year}-000001"


def test_concurrent_submissions_get_unique_gapless_references():
    results = race(
        *[
            (
                lambda: ticket_submit(
                    kind=TicketKind.DSR_ACCESS, data=dict(REQUESTER), submission_token=new_submission_token()
                )
            )
            for _ in range(5)
        ]
    )
    assert all(isinstance(r, tuple) for r in results), results
    year = timezone.now().year
    assert sorted(t.reference for t, _ in results) == [f"DSR-{year}-{n:06d}" for n in range(1, 6)]


def test_a_verification_link_works_once_under_concurrency():
    submit(TicketKind.DSR_ACCESS)
    raw = sent_link("verify")
    results = race(lambda: ticket_verify(raw_token=raw), lambda: ticket_verify(raw_token=raw))
    assert sum(isinstance(r, Ticket) for r in results) == 1
    errors = [r for r in results if isinstance(r, ValidationError)]
    assert [e.code for e in errors] == ["verification_used"]


def test_two_workers_send_a_mail_once(settings):
    settings.EMAIL_BACKEND = "tests.requests_app.mail_backends.SlowLocmemBackend"
    submit()
    mail_id = OutboxMail.objects.order_by("id").first().pk
    results = race(lambda: outbox_send_one(mail_id=mail_id), lambda: outbox_send_one(mail_id=mail_id))
    assert sorted(results) == ["sent", "skipped"]
    assert len(mail.outbox) == 1
    assert OutboxMail.objects.get(pk=mail_id).attempts == 1
