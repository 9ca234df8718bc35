"""On PostgreSQL the ticket history table refuses rewrites; only the retention
purge gets through, and it leaves a chained record that names the ticket's
reference, never the requester."""

import pytest
from django.db import DatabaseError, connection, transaction

from evidence.models import ChainLink, PurgeRecord
from evidence.verify import verify_chain
from requests_app.models import Ticket
from requests_app.services import tickets_purge_personal_data

from .conftest import submit
from .test_retention import PERSONAL, after_retention, closed_dpa

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def refused(sql: str, params: list) -> str:
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(excinfo.value).splitlines()[0]


def test_raw_update_and_delete_of_ticket_history_are_refused(db):
    ticket, _ = submit()
    history_id = ticket.history.get().history_id
    assert (
        refused(
            "UPDATE requests_app_historicalticket SET requester_name = 'changed' WHERE history_id = %s", [history_id]
        )
        == "UPDATE on requests_app_historicalticket: history is append-only"
    )
    assert (
        refused("DELETE FROM requests_app_historicalticket WHERE history_id = %s", [history_id])
        == "DELETE on requests_app_historicalticket: history is append-only"
    )
    assert list(ticket.history.values_list("requester_name", flat=True)) == ["Ann Example"]
    # Writing a row back unchanged (as restoring a serialized copy does) is no rewrite.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE requests_app_historicalticket SET requester_name = requester_name WHERE history_id = %s",
            [history_id],
        )
        assert cursor.rowcount == 1


def test_purge_goes_through_the_purge_path_and_leaves_a_record(db, handler):
    ticket = closed_dpa(handler)
    rows = ticket.history.count()
    before = set(PurgeRecord.objects.values_list("pk", flat=True))

    counts = tickets_purge_personal_data(now=after_retention())

    assert (counts["tickets"], counts["history_rows"]) == (1, rows)
    assert set(ticket.history.values_list("requester_email", flat=True)) == {""}
    record = PurgeRecord.objects.exclude(pk__in=before).get()
    assert (record.reference, record.reason, record.actor_username) == (
        ticket.reference,
        f"retention purge of ticket history: {rows} rows of 1 closed ticket",
        "system",
    )
    assert record.database_transaction.isdigit()
    assert ChainLink.objects.filter(model_label="evidence.purgerecord", row_pk=record.pk).count() == 1
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_permission_ends_with_the_purge_transaction(handler):
    ticket = closed_dpa(handler)
    assert tickets_purge_personal_data(now=after_retention())["tickets"] == 1
    assert (
        refused("UPDATE requests_app_historicalticket SET requester_name = 'x' WHERE id = %s", [ticket.pk])
        == "UPDATE on requests_app_historicalticket: history is append-only"
    )
    assert (
        refused("DELETE FROM requests_app_historicalticket WHERE id = %s", [ticket.pk])
        == "DELETE on requests_app_historicalticket: history is append-only"
    )


def test_second_run_purges_nothing_and_records_nothing(db, handler):
    closed_dpa(handler)
    tickets_purge_personal_data(now=after_retention())
    records = PurgeRecord.objects.count()
    assert tickets_purge_personal_data(now=after_retention()) == {
        "tickets": 0,
        "history_rows": 0,
        "mails": 0,
        "attachments": 0,
        "messages": 0,
        "notes": 0,
    }
    assert PurgeRecord.objects.count() == records


def test_purge_record_names_the_ticket_and_carries_no_personal_data(db, handler):
    ticket = closed_dpa(handler)
    tickets_purge_personal_data(now=after_retention())
    record = PurgeRecord.objects.get()
    chained = [str(PurgeRecord.objects.filter(pk=record.pk).values().get())]
    chained += [str(link) for link in ChainLink.objects.filter(model_label="evidence.purgerecord").values()]
    text = "\n".join(chained)
    for value in (*PERSONAL, ticket.status_link_nonce):
        assert value not in text
    # What the record holds, field by field: the purge, the ticket's reference, its time, the system
    # actor, the transaction.
    assert sorted(f.name for f in PurgeRecord._meta.concrete_fields) == [
        "actor_username",
        "database_transaction",
        "id",
        "ran_at",
        "reason",
        "reference",
    ]
    assert (record.reference, record.reason, record.actor_username) == (
        ticket.reference,
        f"retention purge of ticket history: {ticket.history.count() - 1} rows of 1 closed ticket",
        "system",
    )
    assert Ticket.objects.get(pk=ticket.pk).personal_data_purged_at is not None
