"""Client addresses and user agents of the access log are blanked
DOCUMENT_LOG_RETENTION_DAYS after access ended; rows and times stay."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from documents import services
from documents.models import DocumentDownload, DocumentGrant, NdaAcceptance
from documents.retention import document_logs_purge
from evidence.models import PersonalSalt, PurgeRecord
from evidence.verify import verify_chain
from requests_app.enums import TicketStatus
from requests_app.services import ticket_set_legal_hold, ticket_transition

from .helpers import approve, ask

pytestmark = pytest.mark.django_db

CLIENT = ("198.51.100.7", "TestBrowser/1.0")
BLANK = (None, "")


@pytest.fixture
def log(listed, nda, make_staff, clock, settings):
    """Four requests at 2026-06-01 09:00: expired grant (30 days), grant revoked
    after a day, rejected (closed after a day), grant on legal hold; and one open."""
    settings.DOCUMENT_LOG_RETENTION_DAYS = 730
    handler = make_staff("hannah", "Request handler")
    tickets = {
        name: ask(nda=nda, requester_email=f"{name}@acme.example")
        for name in ("expired", "revoked", "rejected", "held", "open")
    }
    for name in ("expired", "revoked", "held"):
        grant = approve(tickets[name], handler).document_grant
        for _ in range(2):
            services.download_record(grant=grant, sha256=grant.document.sha256, ip=CLIENT[0], user_agent=CLIENT[1])
    ticket_set_legal_hold(ticket_id=tickets["held"].pk, legal_hold=True, reason="litigation", actor=handler)
    clock.advance(days=1)
    services.grant_revoke(grant_id=tickets["revoked"].document_grant.pk, actor=handler, reason="contract ended")
    ticket_transition(
        ticket_id=tickets["rejected"].pk, to_status=TicketStatus.REJECTED, actor=handler, reason="Customers only."
    )
    ticket_transition(ticket_id=tickets["rejected"].pk, to_status=TicketStatus.CLOSED, actor=handler)
    return tickets


def client_data(tickets) -> dict[str, tuple]:
    acceptances = {
        name: NdaAcceptance.objects.values_list("ip", "user_agent").get(ticket=ticket)
        for name, ticket in tickets.items()
    }
    downloads = {
        name: sorted(set(DocumentDownload.objects.filter(grant__ticket=ticket).values_list("ip", "user_agent")))
        for name, ticket in tickets.items()
    }
    return {name: (acceptances[name], *downloads[name]) for name in tickets}


def test_client_data_is_blanked_after_access_ended_plus_retention(log, clock):
    start = clock.now - timedelta(days=1)
    times = sorted(DocumentDownload.objects.values_list("downloaded_at", flat=True))

    assert document_logs_purge(now=start + timedelta(days=731) - timedelta(seconds=1)) == {
        "acceptances": 0,
        "downloads": 0,
        "grants": 0,
    }
    assert document_logs_purge(now=start + timedelta(days=731)) == {"acceptances": 2, "downloads": 2, "grants": 0}
    assert client_data(log) == {
        "expired": (CLIENT, CLIENT),
        "revoked": (BLANK, BLANK),
        "rejected": (BLANK,),
        "held": (CLIENT, CLIENT),
        "open": (CLIENT,),
    }
    assert document_logs_purge(now=start + timedelta(days=760)) == {"acceptances": 1, "downloads": 2, "grants": 0}
    assert client_data(log)["expired"] == (BLANK, BLANK)
    # The evidence stays: every row, its time, the NDA version and the file hash.
    assert (NdaAcceptance.objects.count(), DocumentDownload.objects.count(), DocumentGrant.objects.count()) == (5, 6, 3)
    assert sorted(DocumentDownload.objects.values_list("downloaded_at", flat=True)) == times
    assert set(NdaAcceptance.objects.values_list("nda_version__label", flat=True)) == {"2026-06"}
    # Held and open requests keep theirs; a second run finds nothing.
    assert document_logs_purge(now=start + timedelta(days=3000)) == {"acceptances": 0, "downloads": 0, "grants": 0}
    assert client_data(log)["held"] == (CLIENT, CLIENT) and client_data(log)["open"] == (CLIENT,)


def test_retention_is_configurable(log, clock, settings):
    settings.DOCUMENT_LOG_RETENTION_DAYS = 10
    assert document_logs_purge(now=clock.now + timedelta(days=10)) == {"acceptances": 2, "downloads": 2, "grants": 0}


def test_the_command_prints_counts_only(log, clock, settings, capsys):
    settings.DOCUMENT_LOG_RETENTION_DAYS = 0
    clock.advance(days=30)
    call_command("purge_requester_data")
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "Document access log: 3 acceptances, 4 downloads, 0 grants."
    call_command("purge_requester_data")
    assert capsys.readouterr().out.splitlines()[1] == "Document access log: 0 acceptances, 0 downloads, 0 grants."


@pytest.mark.postgres
def test_blanked_client_data_leaves_no_salt_and_the_chain_verifies(log, clock):
    start = clock.now - timedelta(days=1)

    document_logs_purge(now=start + timedelta(days=731))

    blanked = {
        "documents.documentdownload": list(DocumentDownload.objects.filter(ip=None).values_list("pk", flat=True)),
        "documents.ndaacceptance": list(NdaAcceptance.objects.filter(ip=None).values_list("pk", flat=True)),
    }
    assert [len(pks) for pks in blanked.values()] == [2, 2]
    for label, pks in blanked.items():
        assert not PersonalSalt.objects.filter(model_label=label, row_pk__in=pks).exists()
    # The rows kept their data and their salts: 4 downloads and 3 acceptances, two fields each.
    assert PersonalSalt.objects.filter(model_label="documents.documentdownload").count() == 4 * 2
    assert PersonalSalt.objects.filter(model_label="documents.ndaacceptance").count() == 3 * 2
    assert PurgeRecord.objects.get().reason == (
        "retention purge of document access logs: 2 downloads, 2 NDA acceptances, 0 revocation reasons"
    )
    assert verify_chain().ok
    # A run that finds nothing leaves no purge record.
    document_logs_purge(now=start + timedelta(days=731))
    assert PurgeRecord.objects.count() == 1
