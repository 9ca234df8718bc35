"""An upgraded install chains the records whose models started keeping history
in the release of evidence 0008: each record without a version gets one
first version at the upgrade (evidence 0009), chained like any other, its
personal fields as salted commitments."""

import datetime as dt
import hashlib
import importlib
import io
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from compliance.models import PublicationRequest
from documents.models import DocumentGrant
from evidence.canonical import canonical_json, utc_iso
from evidence.models import ChainHead, ChainLink, PersonalCommitment, PersonalSalt
from evidence.selectors import AuditFilters, audit_log_page
from evidence.verify import verify_chain
from requests_app.models import TicketAttachment
from requests_app.services import ticket_submit
from subscriptions.models import Subscriber
from subscriptions.services import subscriber_request
from tests.factories import DocumentFactory

from .helpers import unguarded, verify_ok_output

pytestmark = pytest.mark.django_db

MIGRATION = ("evidence", "0009_first_versions_at_upgrade")
BEFORE = [("evidence", "0008_chain_existing_records")]
REASON = "version at upgrade (the record predates its history)"
MARKER = "Carol Marker"
MARKER_EMAIL = "carol.marker@example.org"
UTC = dt.UTC
# Creation times, out of the order the records are written in below.
SUBSCRIBED_AT = dt.datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)
GRANTED_AT = dt.datetime(2026, 1, 20, 10, 30, tzinfo=UTC)
UPLOADED_AT = dt.datetime(2026, 2, 1, 8, 15, tzinfo=UTC)
REQUESTED_AT = dt.datetime(2026, 3, 1, 14, 0, tzinfo=UTC)


def evidence_tables_text() -> str:
    """Every row of every ledger table (links, schemas, commitments, tree, checkpoints, purge records, salts)."""
    from django.apps import apps

    return "\n".join(
        str(row) for model in apps.get_app_config("evidence").get_models() for row in model._base_manager.values()
    )


def written_before_the_upgrade(old, *, requester, ticket, document) -> dict[str, int]:
    """The four records as the release of 0008 left them: rows without any version."""
    subscriber = old.get_model("subscriptions", "Subscriber").objects.create(
        email=MARKER_EMAIL,
        scope="subprocessors",
        requested_scope="subprocessors",
        created_at=SUBSCRIBED_AT,
        confirmed_at=SUBSCRIBED_AT + dt.timedelta(hours=1),
        unsubscribe_nonce="n" * 64,
        unsubscribe_token_hash="h" * 64,
    )
    request = old.get_model("compliance", "PublicationRequest").objects.create(
        summary="New subprocessor", requested_by_id=requester.pk, requested_at=REQUESTED_AT
    )
    attachment = old.get_model("requests_app", "TicketAttachment").objects.create(
        ticket_id=ticket.pk,
        file="tickets/countersigned.pdf",
        original_name=f"{MARKER} signed.pdf",
        content_type="application/pdf",
        size=1234,
        sha256="a" * 64,
        uploaded_by_id=requester.pk,
        created_at=UPLOADED_AT,
    )
    grant = old.get_model("documents", "DocumentGrant").objects.create(
        ticket_id=ticket.pk,
        document_id=document.pk,
        token_nonce="g" * 64,
        token_hash="t" * 64,
        granted_at=GRANTED_AT,
        expires_at=GRANTED_AT + dt.timedelta(days=30),
        revoked_at=GRANTED_AT + dt.timedelta(days=2),
        revoke_reason=f"{MARKER} left the customer",
    )
    return {
        "subscriptions.historicalsubscriber": subscriber.pk,
        "documents.historicaldocumentgrant": grant.pk,
        "requests_app.historicalticketattachment": attachment.pk,
        "compliance.historicalpublicationrequest": request.pk,
    }


@pytest.mark.db_owner  # migrations run as the schema owner
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_records_without_history_get_one_chained_version_at_the_upgrade(seeded, editor):
    document = DocumentFactory(actor=editor)
    ticket, _ = ticket_submit(
        kind="dpa",
        data={"requester_name": "Ann Example", "requester_email": "ann@example.org", "legal_entity": "Example GmbH"},
        submission_token="submission-token-upgrade",
        ip="203.0.113.9",
    )
    # Signed up after the release that gave subscribers their history: one version, chained.
    versioned = subscriber_request(email="bob@example.org", scope="all")

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(MIGRATION, at_end=False).apps
    records = written_before_the_upgrade(old, requester=editor, ticket=ticket, document=document)
    head_before = ChainHead.objects.get()
    assert head_before.seq == ChainLink.objects.count()
    assert not Subscriber.history.filter(id=records["subscriptions.historicalsubscriber"]).exists()

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    versions = {
        "subscriptions.historicalsubscriber": Subscriber.history,
        "documents.historicaldocumentgrant": DocumentGrant.history,
        "requests_app.historicalticketattachment": TicketAttachment.history,
        "compliance.historicalpublicationrequest": PublicationRequest.history,
    }
    created = {
        "subscriptions.historicalsubscriber": SUBSCRIBED_AT,
        "documents.historicaldocumentgrant": GRANTED_AT,
        "requests_app.historicalticketattachment": UPLOADED_AT,
        "compliance.historicalpublicationrequest": REQUESTED_AT,
    }
    first = {}
    for label, manager in versions.items():
        version = manager.get(id=records[label])
        assert (version.history_type, version.history_change_reason, version.history_user_id) == ("+", REASON, None)
        assert version.history_date == created[label]
        first[label] = version
    # Every field the history keeps is the record's own.
    assert (first["subscriptions.historicalsubscriber"].email, first["subscriptions.historicalsubscriber"].scope) == (
        MARKER_EMAIL,
        "subprocessors",
    )
    assert first["documents.historicaldocumentgrant"].revoke_reason == f"{MARKER} left the customer"
    assert first["requests_app.historicalticketattachment"].original_name == f"{MARKER} signed.pdf"
    assert first["compliance.historicalpublicationrequest"].summary == "New subprocessor"
    # A record that had its version already gets no other.
    assert list(Subscriber.history.filter(id=versioned.pk).values_list("history_change_reason", flat=True)) == [None]

    # One link each, after every link before the upgrade, oldest record first.
    new_links = list(ChainLink.objects.filter(seq__gt=head_before.seq).order_by("seq"))
    assert [(link.model_label, link.row_pk) for link in new_links] == [
        (label, first[label].history_id) for label in created
    ]
    assert {(link.format, link.actor_id, link.actor_username) for link in new_links} == {(2, None, "")}
    assert [link.recorded_at for link in new_links] == [head_before.recorded_at] * 4

    # The personal fields are chained as salted commitments, per field.
    for label, field in (
        ("subscriptions.historicalsubscriber", "email"),
        ("documents.historicaldocumentgrant", "revoke_reason"),
        ("requests_app.historicalticketattachment", "original_name"),
    ):
        pk = first[label].history_id
        salt = bytes(PersonalSalt.objects.get(model_label=label, row_pk=pk, field=field).salt)
        value = getattr(first[label], field)
        commitment = hashlib.sha256(salt + canonical_json(value)).hexdigest()
        assert PersonalCommitment.objects.get(model_label=label, row_pk=pk).commitments == {field: commitment}
    assert not PersonalCommitment.objects.filter(
        model_label="compliance.historicalpublicationrequest",
        row_pk=first["compliance.historicalpublicationrequest"].history_id,
    ).exists()
    ledger = evidence_tables_text()
    assert MARKER not in ledger and MARKER_EMAIL not in ledger and "carol.marker" not in ledger.lower()

    out, err = io.StringIO(), io.StringIO()
    call_command("verify_chain", stdout=out, stderr=err)
    assert out.getvalue() == verify_ok_output()
    assert out.getvalue().startswith(f"Chain OK: {head_before.seq + 4} links, head ")
    # The upgrade does not grow the tree; its next change or evidence_tree_sync does.
    assert f"The stored tree lacks links {head_before.seq + 1}..{head_before.seq + 4}:" in err.getvalue()

    # The audit log tells these versions from changes made in the application, and keeps the address out.
    entries = audit_log_page(filters=AuditFilters(), before=head_before.seq + 5, size=4).entries
    rows = sorted((entry.as_export_row() for entry in entries), key=lambda row: row["seq"])
    assert [(row["seq"], row["time"], row["user"], row["reason"]) for row in rows] == [
        (link.seq, utc_iso(created[link.model_label]), "", REASON) for link in new_links
    ]
    assert MARKER_EMAIL not in str(rows) and MARKER not in str(rows)

    # Running it again finds nothing left to do.
    head_after = ChainHead.objects.get()
    migration = importlib.import_module(f"evidence.migrations.{MIGRATION[1]}")
    migration.forwards(executor.loader.project_state(MIGRATION).apps, SimpleNamespace(connection=connection))
    assert ChainHead.objects.get().seq == head_after.seq
    assert Subscriber.history.filter(history_change_reason=REASON).count() == 1

    # The versions are evidence like any other: append-only, and the address is checked against its commitment.
    subscriber_version = first["subscriptions.historicalsubscriber"]
    rewrite = "UPDATE subscriptions_historicalsubscriber SET email = %s WHERE history_id = %s"
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="history is append-only"), transaction.atomic():
            connection.cursor().execute(rewrite, ["eve@example.org", subscriber_version.history_id])
    with unguarded(), connection.cursor() as cursor:
        cursor.execute(rewrite, ["eve@example.org", subscriber_version.history_id])
    link = new_links[0]
    assert str(verify_chain().broken) == (
        f"at link {link.seq}: subscriptions.historicalsubscriber row {subscriber_version.history_id}: "
        "personal field email was altered after it was chained"
    )
