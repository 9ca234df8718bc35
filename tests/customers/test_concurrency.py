"""Two senders of one round of incident notices at the same moment (PostgreSQL):
each contact still gets exactly one notice and one mail."""

import datetime as dt
from functools import partial

import pytest

from core.models import OutboxMail
from customers import services
from customers.models import IncidentMessage, IncidentNotice
from tests.concurrency import race

from .conftest import customer_with_contacts

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_two_concurrent_senders_write_one_notice_per_contact(handler, seeded):
    customer, people = customer_with_contacts(handler)
    other, others = customer_with_contacts(handler, name="Beta AG")
    incident = services.incident_record(
        actor=handler,
        reason="found",
        customer_ids=[customer.pk, other.pk],
        title="Leak",
        aware_at=dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC),
        description="A bucket was public.",
    )
    for round_ in (1, 2, 3):  # several rounds, so both orders of arrival are likely exercised
        message = IncidentMessage.objects.create(
            incident=incident,
            round=round_,
            kind="initial" if round_ == 1 else "follow_up",
            body=f"Round {round_}",
            created_at=incident.recorded_at,
            created_by=handler,
        )
        send = partial(services.incident_notices_send, incident_id=incident.pk, message_id=message.pk)
        results = race(send, send)
        assert sorted(results) == [0, 4], results
        notices = IncidentNotice.objects.filter(message=message)
        expected = {people["security"].pk, people["privacy"].pk, others["security"].pk, others["privacy"].pk}
        assert sorted(notices.values_list("contact_id", flat=True)) == sorted(expected)
        mails = OutboxMail.objects.filter(template="incident_notice", pk__in=notices.values("mail_id"))
        assert mails.count() == 4
    assert OutboxMail.objects.filter(template="incident_notice").count() == 12
    # Follow-ups point at each contact's first notice.
    for notice in IncidentNotice.objects.filter(message__round__gt=1):
        assert notice.follow_up_of.message.round == 1
        assert notice.follow_up_of.contact_id == notice.contact_id


def test_two_concurrent_notify_calls_make_two_rounds_never_a_double_notice(handler, seeded):
    customer, _people = customer_with_contacts(handler)
    incident = services.incident_record(
        actor=handler,
        reason="found",
        customer_ids=[customer.pk],
        title="Leak",
        aware_at=dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC),
        description="A bucket was public.",
    )
    notify = partial(services.incident_notify, incident_id=incident.pk, message="Hello", actor=handler, reason="x")
    results = race(notify, notify)
    assert sorted(r.round for r in results) == [1, 2]
    assert IncidentNotice.objects.filter(message__round=1).count() == 2
    assert IncidentNotice.objects.filter(message__round=2).count() == 2
    assert IncidentNotice.objects.filter(message__round=2, follow_up_of__isnull=True).count() == 0
