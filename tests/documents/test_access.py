"""Asking for a gated document: the ticket, the NDA record, approval, denial,
auto-approval by domain, the free-mail block and revocation."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from core.models import OutboxMail
from core.outbox import outbox_send_due
from documents import services
from documents.models import DocumentGrant, NdaAcceptance
from requests_app.enums import TicketStatus
from requests_app.services import ticket_transition
from tests.factories import offer_nda

from .helpers import approve, ask, mailed_download_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def handler(make_staff):
    return make_staff("hannah", "Request handler")


def test_a_request_is_a_ticket_with_the_nda_acceptance_recorded(listed, nda, clock):
    ticket = ask(nda=nda)

    assert (ticket.kind, ticket.reference, ticket.status) == ("document_access", "DOC-2026-000001", "open")
    assert (ticket.requester_name, ticket.requester_email, ticket.legal_entity) == (
        "Wendy Work",
        "wendy@acme.example",
        "Acme Inc.",
    )
    assert ticket.form_data == {
        "document": "soc2-report",
        "document_title": "SOC 2 Type I report",
        "nda_version": "2026-06",
    }
    # Two business days from Monday 1 June 2026.
    assert ticket.due_at.date().isoformat() == "2026-06-03"
    acceptance = NdaAcceptance.objects.get(ticket=ticket)
    assert (
        acceptance.nda_version,
        acceptance.document,
        acceptance.accepted_at,
        acceptance.ip,
        acceptance.user_agent,
    ) == (
        nda,
        listed["soc2"],
        clock.now,
        "198.51.100.7",
        "TestBrowser/1.0",
    )
    assert not DocumentGrant.objects.exists()


def test_a_changed_nda_must_be_accepted_again(listed, nda, editor):
    offer_nda(label="2026-07", text="New terms.", editor=editor)

    with pytest.raises(ValidationError) as refused:
        ask(nda=nda)

    assert refused.value.code == "nda_changed"


def test_a_public_or_unlisted_document_cannot_be_requested(listed, nda):
    for slug in ("dpa-template", "no-such-document"):
        with pytest.raises(ValidationError) as refused:
            ask(slug, nda=nda)
        assert refused.value.code == "document_not_gated"


@pytest.mark.parametrize("address", ["sam@gmail.com", "sam@proton.me", "sam@mail.com", "sam@eu.outlook.com"])
def test_free_mail_addresses_are_refused(listed, nda, address):
    with pytest.raises(ValidationError) as refused:
        ask(nda=nda, requester_email=address)

    assert refused.value.code == "freemail_blocked"


def test_free_mail_is_accepted_when_the_block_is_off(listed, nda, settings):
    settings.DOCUMENT_BLOCK_FREEMAIL = False

    assert ask(nda=nda, requester_email="sam@gmail.com").status == "open"


def test_approval_in_the_ticket_workflow_grants_time_limited_access(listed, nda, handler, clock, client):
    ticket = ask(nda=nda)

    approve(ticket, handler)

    grant = DocumentGrant.objects.get(ticket=ticket)
    assert (grant.document, grant.granted_by, grant.granted_at, grant.auto_approved) == (
        listed["soc2"],
        handler,
        clock.now,
        False,
    )
    assert grant.expires_at == clock.now + timedelta(days=30)
    queued = OutboxMail.objects.get(template="document_access_granted")
    assert "[[download_url]]" in queued.body_text and queued.links["[[download_url]]"]["hash"] == grant.token_hash
    path = mailed_download_path()
    assert path.startswith("/documents/soc2-report/download/")
    assert client.get(path).status_code == 200


def test_rejection_denies_access(listed, nda, handler):
    ticket = ask(nda=nda)

    ticket_transition(
        ticket_id=ticket.pk,
        to_status=TicketStatus.REJECTED,
        actor=handler,
        reason="We share this report with customers only.",
    )

    assert not DocumentGrant.objects.exists()
    outbox_send_due()
    to_requester = [m.subject for m in mail.outbox if m.to == [ticket.requester_email]]
    assert to_requester == [
        "[DOC-2026-000001] We received your request",
        "[DOC-2026-000001] Decision on your request",
    ]
    # The request handler (no notify list set) heard of the new ticket.
    assert [m.subject for m in mail.outbox if m.to == [handler.email]] == [
        "[DOC-2026-000001] New request: Access to a gated document",
    ]


def test_an_allowed_domain_is_approved_at_once(listed, nda, settings):
    settings.DOCUMENT_AUTO_APPROVE_DOMAINS = ["acme.example"]

    ticket = ask(nda=nda, requester_email="wendy@eu.acme.example")

    ticket.refresh_from_db()
    assert ticket.status == "fulfilled"
    grant = DocumentGrant.objects.get(ticket=ticket)
    assert (grant.auto_approved, grant.granted_by.username) == (True, "system")
    assert ticket.events.last().message == services.AUTO_APPROVE_REASON
    assert mailed_download_path("wendy@eu.acme.example").startswith("/documents/soc2-report/download/")


def requester_mails(ticket) -> list[tuple[str, str]]:
    """(template, status) of each mail about `ticket` to its requester."""
    return list(ticket.mails.filter(to__iexact=ticket.requester_email).values_list("template", "status"))


def test_every_mail_of_an_auto_approval_counts_against_the_daily_cap(listed, nda, settings, handler):
    settings.DOCUMENT_AUTO_APPROVE_DOMAINS = ["acme.example"]
    settings.PUBLIC_MAIL_PER_ADDRESS_PER_DAY = 5

    first = ask(nda=nda, requester_email="wendy@acme.example")
    second = ask(nda=nda, requester_email="Wendy+2@acme.example")

    assert requester_mails(first) == [
        ("ticket_received", "queued"),
        ("ticket_in_progress", "queued"),
        ("ticket_fulfilled", "queued"),
        ("document_access_granted", "queued"),
    ]
    assert requester_mails(second) == [
        ("ticket_received", "queued"),
        ("ticket_in_progress", "withheld"),
        ("ticket_fulfilled", "withheld"),
        ("document_access_granted", "withheld"),
    ]
    # Access is granted all the same; the handler can pass the link on another way.
    assert DocumentGrant.objects.filter(ticket=second).exists()


def test_a_grant_a_handler_approves_is_not_capped(listed, nda, settings, handler):
    settings.PUBLIC_MAIL_PER_ADDRESS_PER_DAY = 1
    ticket = ask(nda=nda)

    approve(ticket, handler)

    assert requester_mails(ticket) == [
        ("ticket_received", "queued"),
        ("ticket_in_progress", "queued"),
        ("ticket_fulfilled", "queued"),
        ("document_access_granted", "queued"),
    ]


def test_a_lookalike_domain_is_not_auto_approved(listed, nda, settings):
    settings.DOCUMENT_AUTO_APPROVE_DOMAINS = ["acme.example"]

    ticket = ask(nda=nda, requester_email="eve@evilacme.example")

    assert ticket.status == "open"
    assert not DocumentGrant.objects.exists()


def test_revoking_records_who_and_why(listed, nda, handler, clock):
    approve(ask(nda=nda), handler)
    grant = DocumentGrant.objects.get()

    services.grant_revoke(grant_id=grant.pk, actor=handler, reason="Contract ended")

    grant.refresh_from_db()
    assert (grant.revoked_at, grant.revoked_by, grant.revoke_reason) == (clock.now, handler, "Contract ended")
    with pytest.raises(ValidationError):
        services.grant_revoke(grant_id=grant.pk, actor=handler, reason="")


def test_the_admin_revoke_action_asks_for_a_reason(listed, nda, handler, make_staff, client):
    approve(ask(nda=nda), handler)
    grant = DocumentGrant.objects.get()
    client.force_login(make_staff("root", superuser=True))
    url = "/admin/documents/documentgrant/"

    asked = client.post(url, {"action": "revoke", "_selected_action": [grant.pk]})
    assert "Revoke access for these grants?" in asked.content.decode()
    grant.refresh_from_db()
    assert grant.revoked_at is None

    client.post(url, {"action": "revoke", "_selected_action": [grant.pk], "apply": "1", "reason": "NDA breached"})
    grant.refresh_from_db()
    assert grant.revoke_reason == "NDA breached"


def test_a_user_without_the_revoke_permission_cannot_revoke(listed, nda, handler, editor_client):
    approve(ask(nda=nda), handler)
    grant = DocumentGrant.objects.get()

    response = editor_client.post(
        "/admin/documents/documentgrant/",
        {"action": "revoke", "_selected_action": [grant.pk], "apply": "1", "reason": "x"},
    )

    assert response.status_code == 403
    grant.refresh_from_db()
    assert grant.revoked_at is None
