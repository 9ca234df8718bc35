"""Tickets with their versions, events, notes and attachments are on the
evidence chain, personal data as salted commitments (PostgreSQL: the
tampering goes around the triggers)."""

import importlib
import json
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection, transaction
from django.db.models.signals import post_save
from simple_history.signals import post_create_historical_record

from evidence import receivers
from evidence.models import ChainLink, PersonalCommitment, PersonalSalt
from evidence.registry import chained_models
from evidence.selectors import AuditFilters, audit_log_page, chain_head
from evidence.verify import verify_chain
from requests_app.enums import TicketEventKind, TicketKind, TicketStatus
from requests_app.models import Ticket, TicketAttachment, TicketEvent, TicketNote
from requests_app.retention import retention_purge_all
from requests_app.services import ticket_add_message, ticket_add_note

from .conftest import submit
from .test_retention import after_retention, closed_dpa

# These tests rewrite rows as the database administrator would, with the triggers off, in
# the test's own transaction: they run as the schema owner (the app's role is refused that).
pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.db_owner]


def raw(sql: str, params=None) -> None:
    """Run SQL with the triggers switched off, in the test's transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def rows_of(ticket: Ticket) -> set[tuple[str, int]]:
    """Every chained row about `ticket`, as (label, pk)."""
    return (
        {
            ("requests_app.historicalticket", pk)
            for pk in Ticket.history.filter(id=ticket.pk).values_list("pk", flat=True)
        }
        | {
            ("requests_app.ticketevent", pk)
            for pk in TicketEvent.objects.filter(ticket=ticket).values_list("pk", flat=True)
        }
        | {
            ("requests_app.ticketnote", pk)
            for pk in TicketNote.objects.filter(ticket=ticket).values_list("pk", flat=True)
        }
        | {
            ("requests_app.historicalticketattachment", pk)
            for pk in TicketAttachment.history.filter(ticket_id=ticket.pk).values_list("pk", flat=True)
        }
    )


def links_after(seq: int) -> set[tuple[str, int]]:
    return set(ChainLink.objects.filter(seq__gt=seq).values_list("model_label", "row_pk"))


def link_of(label: str, pk: int) -> ChainLink:
    return ChainLink.objects.get(model_label=label, row_pk=pk)


@pytest.fixture
def worked(handler):
    """A DPA worked to the end, with a note and a message; the chain verifies."""
    ticket = closed_dpa(handler)
    ticket_add_note(ticket_id=ticket.pk, body="Ann called about it", actor=handler)
    ticket_add_message(ticket_id=ticket.pk, message="Dear Ann, here it is.", actor=handler)
    assert verify_chain().ok
    return ticket


def test_a_submission_is_chained_in_its_own_transaction():
    start = chain_head().seq
    with transaction.atomic():
        ticket, _ = submit(TicketKind.DPA)
        version = Ticket.history.get(id=ticket.pk)
        event = TicketEvent.objects.get(ticket=ticket)
        assert links_after(start) == {
            ("requests_app.historicalticket", version.pk),
            ("requests_app.ticketevent", event.pk),
        }
        transaction.set_rollback(True)
    assert chain_head().seq == start
    assert not PersonalSalt.objects.exists() and not PersonalCommitment.objects.exists()


def test_every_record_of_a_worked_ticket_is_chained_and_verifies(worked):
    rows = rows_of(worked)
    assert {label for label, _ in rows} == {
        "requests_app.historicalticket",
        "requests_app.ticketevent",
        "requests_app.ticketnote",
        "requests_app.historicalticketattachment",
    }
    assert rows <= set(ChainLink.objects.values_list("model_label", "row_pk"))
    version = Ticket.history.filter(id=worked.pk).earliest("history_date")
    salts = PersonalSalt.objects.filter(model_label="requests_app.historicalticket", row_pk=version.pk)
    # One 32-byte salt per personal field (tests/evidence/test_chain.py lists them).
    assert salts.count() == 9
    assert {len(bytes(salt)) for salt in salts.values_list("salt", flat=True)} == {32}
    assert verify_chain().ok


@pytest.mark.parametrize(
    "change",
    ["created_at = created_at - interval '3 days'", "actor_id = NULL"],
    ids=["moved", "actor"],
)
def test_moving_a_fulfilment_event_or_changing_its_actor_is_detected(worked, change):
    event = TicketEvent.objects.get(
        ticket=worked, kind=TicketEventKind.STATUS_CHANGED, to_status=TicketStatus.FULFILLED
    )
    raw(f"UPDATE requests_app_ticketevent SET {change} WHERE id = %s", [event.pk])
    result = verify_chain()
    link = link_of("requests_app.ticketevent", event.pk)
    assert (
        str(result.broken)
        == f"at link {link.seq}: requests_app.ticketevent row {event.pk} was altered after it was chained"
    )


def test_a_personal_value_rewritten_while_its_salt_is_held_is_detected(worked):
    version = Ticket.history.filter(id=worked.pk).earliest("history_date")
    raw(
        "UPDATE requests_app_historicalticket SET requester_email = 'bob@example.org' WHERE history_id = %s",
        [version.pk],
    )
    link = link_of("requests_app.historicalticket", version.pk)
    assert str(verify_chain().broken) == (
        f"at link {link.seq}: requests_app.historicalticket row {version.pk}: "
        "personal field requester_email was altered after it was chained"
    )


def test_a_staff_message_rewritten_is_detected(worked):
    event = TicketEvent.objects.get(ticket=worked, kind=TicketEventKind.MESSAGE, message="Dear Ann, here it is.")
    raw("UPDATE requests_app_ticketevent SET message = 'Nothing sent.' WHERE id = %s", [event.pk])
    link = link_of("requests_app.ticketevent", event.pk)
    assert str(verify_chain().broken) == (
        f"at link {link.seq}: requests_app.ticketevent row {event.pk}: personal field message was altered after it was chained"
    )


def test_a_deleted_commitment_is_detected(worked):
    event = TicketEvent.objects.get(ticket=worked, kind=TicketEventKind.MESSAGE, message="Dear Ann, here it is.")
    raw(
        "DELETE FROM evidence_personalcommitment WHERE model_label = 'requests_app.ticketevent' AND row_pk = %s",
        [event.pk],
    )
    link = link_of("requests_app.ticketevent", event.pk)
    assert str(verify_chain().broken) == (
        f"at link {link.seq}: requests_app.ticketevent row {event.pk} was altered after it was chained"
    )


def test_after_the_retention_purge_the_chain_verifies_without_the_salts(worked):
    purged = rows_of(worked)
    before = chain_head().seq

    counts = retention_purge_all(now=after_retention())

    assert counts["tickets"]["tickets"] == 1
    assert verify_chain().ok
    worked.refresh_from_db()
    assert (worked.requester_name, worked.requester_email) == ("", "")
    for label, pk in purged:
        assert not PersonalSalt.objects.filter(model_label=label, row_pk=pk).exists(), (label, pk)
        # The commitments stay: the purged rows still hash to their links.
        assert PersonalCommitment.objects.filter(model_label=label, row_pk=pk).exists(), (label, pk)
    # The purge itself is chained: its record, the ticket's new version and its event.
    assert {label for label, _ in links_after(before)} >= {
        "evidence.purgerecord",
        "requests_app.historicalticket",
        "requests_app.ticketevent",
        "requests_app.historicalticketattachment",
    }
    assert not Ticket.history.filter(id=worked.pk).exclude(requester_email="").exists()
    assert set(TicketAttachment.history.filter(ticket_id=worked.pk).values_list("original_name", flat=True)) == {""}


@contextmanager
def unchained():
    """Rows written as before this release: no receiver appends their links."""
    disconnected = [post_create_historical_record.disconnect(dispatch_uid=receivers.DISPATCH_UID)]
    for label, chained in chained_models().items():
        if not chained.is_history:
            uid = f"{receivers.DISPATCH_UID}.{label}"
            disconnected.append(post_save.disconnect(sender=chained.model, dispatch_uid=uid))
    assert all(disconnected)
    try:
        yield
    finally:
        receivers.connect()


def test_the_upgrade_chains_records_written_before_with_their_commitments(handler, monkeypatch):
    # Written before customer records existed: the fulfilment links no customer.
    monkeypatch.setattr("requests_app.services.workflow.customer_for_agreement", lambda **kwargs: None)
    with unchained():
        ticket = closed_dpa(handler)
        ticket_add_note(ticket_id=ticket.pk, body="Ann called about it", actor=handler)
    unlinked = rows_of(ticket)
    assert not unlinked & set(ChainLink.objects.values_list("model_label", "row_pk"))
    assert "is not in the chain" in str(verify_chain().broken)

    migration = importlib.import_module("evidence.migrations.0008_chain_existing_records")
    migration.forwards(django_apps, SimpleNamespace(connection=connection))

    assert unlinked <= set(ChainLink.objects.values_list("model_label", "row_pk"))
    note = TicketNote.objects.get(ticket=ticket)
    link = link_of("requests_app.ticketnote", note.pk)
    assert (link.format, link.actor_id, link.actor_username) == (2, handler.pk, "hannah")
    event = TicketEvent.objects.filter(ticket=ticket).earliest("id")
    assert sorted(
        PersonalSalt.objects.filter(model_label="requests_app.ticketevent", row_pk=event.pk).values_list(
            "field", flat=True
        )
    ) == ["message"]
    assert verify_chain().ok
    # The personal values are checked from then on, as for records chained when written.
    raw("UPDATE requests_app_ticketevent SET message = 'other' WHERE id = %s", [event.pk])
    assert str(verify_chain().broken).endswith("personal field message was altered after it was chained")


def test_the_audit_log_shows_no_personal_value_and_reads_the_same_after_the_purge(worked):
    def first_version_entry() -> dict:
        version = Ticket.history.filter(id=worked.pk).earliest("history_date")
        link = link_of("requests_app.historicalticket", version.pk)
        return audit_log_page(filters=AuditFilters(), before=link.seq + 1, size=1).entries[0].as_export_row()

    before = first_version_entry()
    assert before["object"] == worked.reference
    assert before["reason"] == "(personal data)"
    assert {name: before["changes"][name]["after"] for name in ("requester_email", "requester_name", "form_data")} == {
        "requester_email": "(personal data)",
        "requester_name": "(personal data)",
        "form_data": "(personal data)",
    }
    assert "Ann" not in json.dumps(before) and "example.org" not in json.dumps(before)

    retention_purge_all(now=after_retention())

    assert first_version_entry() == before
