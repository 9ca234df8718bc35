"""Fulfilling an access ticket grants access after the fulfilment commits; a grant
a failure left owed is issued by the re-drive, once."""

import pytest
from django.db import transaction

from documents import services
from documents.models import DocumentGrant
from requests_app.enums import TicketStatus
from requests_app.models import OutboxMail, Ticket
from requests_app.services import ticket_transition

from .helpers import approve, ask

pytestmark = pytest.mark.django_db


@pytest.fixture
def handler(make_staff):
    return make_staff("hannah", "Request handler")


def fulfil(ticket, handler) -> None:
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=handler, reason="ok")


def grants() -> list[tuple[int, str, bool]]:
    return list(DocumentGrant.objects.values_list("ticket_id", "granted_by__username", "auto_approved"))


def granted_mails() -> int:
    return OutboxMail.objects.filter(template="document_access_granted").count()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_grant_follows_the_commit_of_the_fulfilment(listed, nda, handler):
    ticket = ask(nda=nda)
    with transaction.atomic():
        fulfil(ticket, handler)
        assert grants() == []
    assert (grants(), granted_mails()) == ([(ticket.pk, "hannah", False)], 1)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rolled_back_fulfilment_grants_nothing(listed, nda, handler):
    ticket = ask(nda=nda)
    with pytest.raises(RuntimeError), transaction.atomic():
        fulfil(ticket, handler)
        raise RuntimeError("the admin's transaction fails afterwards")
    assert (grants(), granted_mails(), Ticket.objects.get(pk=ticket.pk).status) == ([], 0, TicketStatus.OPEN)


def test_a_failed_grant_is_issued_by_the_redrive_once(listed, nda, handler, settings, caplog):
    ticket = ask(nda=nda)
    settings.DOCUMENT_GRANT_DAYS = 0  # the grant would expire as it starts: the database refuses it

    approve(ticket, handler)

    assert (Ticket.objects.get(pk=ticket.pk).status, grants()) == (TicketStatus.FULFILLED, [])
    assert [r.getMessage() for r in caplog.records if r.name == "core.events"] == [
        "Receiver on_ticket_fulfilled of TicketFulfilled failed"
    ]
    assert services.tickets_owed_a_grant() == [ticket.pk]
    settings.DOCUMENT_GRANT_DAYS = 30
    assert services.document_grants_redrive() == 1
    assert services.document_grants_redrive() == 0
    assert (grants(), granted_mails(), services.tickets_owed_a_grant()) == ([(ticket.pk, "hannah", False)], 1, [])


def test_issuing_twice_returns_the_one_grant(listed, nda, handler):
    ticket = ask(nda=nda)
    approve(ticket, handler)
    first = DocumentGrant.objects.get()
    assert services.document_grant_issue(ticket_id=ticket.pk) == first
    assert (grants(), granted_mails()) == ([(ticket.pk, "hannah", False)], 1)


def test_no_grant_for_a_ticket_not_fulfilled(listed, nda, handler):
    ticket = ask(nda=nda)
    assert services.document_grant_issue(ticket_id=ticket.pk) is None
    assert services.tickets_owed_a_grant() == []
    assert grants() == []


def test_the_allowed_domain_rule_grants_in_its_own_transaction(
    listed, nda, settings, django_capture_on_commit_callbacks
):
    settings.DOCUMENT_AUTO_APPROVE_DOMAINS = ["acme.example"]
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ask(nda=nda)
    assert (grants(), granted_mails()) == ([(ticket.pk, "system", True)], 1)
