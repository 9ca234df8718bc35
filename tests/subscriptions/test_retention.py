"""Addresses of unsubscribed and never-confirmed subscribers go
SUBSCRIBER_RETENTION_DAYS after the unsubscribe or the link's expiry."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Q

from core.enums import MailStatus
from core.models import OutboxMail
from evidence.models import PersonalSalt, PurgeRecord
from evidence.verify import verify_chain
from subscriptions import services
from subscriptions.models import SubprocessorNotice, Subscriber
from subscriptions.retention import subscribers_purge
from tests.factories import SubprocessorFactory, publish_draft

from .helpers import mailed_token, subscribe

pytestmark = pytest.mark.django_db

NOTHING = {"deleted": 0, "anonymised": 0, "mails": 0}


def unsubscribe(email: str) -> None:
    services.subscriber_unsubscribe(raw_token=mailed_token("unsubscribe", to=email))


@pytest.fixture
def people(clock, published, editor, approver, settings):
    """At 2026-06-01 09:00: `stays` and `noticed` get a notice, then `noticed`
    unsubscribes; `gone` and `back` unsubscribed before it; `pending` never
    confirms. Twenty days later `back` asks again and does not confirm."""
    settings.SUBSCRIBER_RETENTION_DAYS = 30
    for name in ("stays", "noticed", "gone", "back"):
        subscribe(f"{name}@example.org")
    subscribe("pending@example.org", confirm=False)
    unsubscribe("gone@example.org")
    unsubscribe("back@example.org")
    SubprocessorFactory.create(actor=editor)
    publication = publish_draft(requester=editor, approver=approver, summary="Fly.io hosts the application")
    assert services.publication_notices_send(publication_id=publication.pk) == 2
    unsubscribe("noticed@example.org")
    start = clock.now
    clock.advance(days=20)
    services.subscriber_request(email="back@example.org", scope="all")
    return {"start": start, "publication": publication, "ids": dict(Subscriber.objects.values_list("email", "pk"))}


def emails() -> list[str]:
    return sorted(Subscriber.objects.values_list("email", flat=True))


def test_addresses_go_after_retention_and_notices_stay_counted(people):
    start, ids = people["start"], people["ids"]

    assert subscribers_purge(now=start + timedelta(days=30) - timedelta(seconds=1)) == NOTHING
    assert subscribers_purge(now=start + timedelta(days=30)) == {"deleted": 1, "anonymised": 1, "mails": 3}
    noticed = f"subscriber-{ids['noticed@example.org']}@erased.invalid"
    assert emails() == ["back@example.org", "pending@example.org", "stays@example.org", noticed]
    # The link of a sign-up expires after 7 days; its address goes 30 days later.
    assert subscribers_purge(now=start + timedelta(days=37) - timedelta(seconds=1)) == NOTHING
    assert subscribers_purge(now=start + timedelta(days=37)) == {"deleted": 1, "anonymised": 0, "mails": 1}
    # Asking again restarted the clock of `back`: its new link expired on day 27.
    assert subscribers_purge(now=start + timedelta(days=57) - timedelta(seconds=1)) == NOTHING
    assert subscribers_purge(now=start + timedelta(days=57)) == {"deleted": 1, "anonymised": 0, "mails": 2}
    assert subscribers_purge(now=start + timedelta(days=400)) == NOTHING
    assert emails() == ["stays@example.org", noticed]

    # Both notices of the publication still count, one of them to an address no longer known.
    assert SubprocessorNotice.objects.filter(publication=people["publication"]).count() == 2
    assert sorted(SubprocessorNotice.objects.values_list("subscriber__email", "mail__to")) == [
        ("stays@example.org", "stays@example.org"),
        (noticed, ""),
    ]
    for name in ("noticed", "gone", "back", "pending"):
        address = f"{name}@example.org"
        assert not OutboxMail.objects.filter(Q(to=address) | Q(body_text__contains=address)).exists()
    purged = OutboxMail.objects.filter(purged_at__isnull=False)
    assert sorted(purged.values_list("template", "status", "to", "body_text", "links")) == sorted(
        [("subscription_confirm", MailStatus.SENT, "", "", {})] * 4
        + [("subscription_confirm", MailStatus.FAILED, "", "", {})]  # back's second link: never sent
        + [("publication_notice", MailStatus.SENT, "", "", {})]
    )
    erased = Subscriber.objects.get(email=noticed)
    assert (erased.confirm_nonce, erased.confirm_token_hash, erased.is_active) == ("", None, False)


def test_an_erased_address_can_subscribe_again(people, clock):
    subscribers_purge(now=people["start"] + timedelta(days=30))
    subscriber = subscribe("gone@example.org")
    assert (subscriber.email, subscriber.is_active, subscriber.pk != people["ids"]["gone@example.org"]) == (
        "gone@example.org",
        True,
        True,
    )


def test_the_command_prints_counts_only(people, clock, capsys):
    clock.now = people["start"] + timedelta(days=30)
    call_command("purge_requester_data")
    out = capsys.readouterr().out
    assert out.splitlines()[2] == "Subscribers: 1 deleted, 1 anonymised, 3 mails."
    assert "@" not in out
    call_command("purge_requester_data")
    assert capsys.readouterr().out.splitlines()[2] == "Subscribers: 0 deleted, 0 anonymised, 0 mails."


@pytest.mark.postgres
def test_purged_addresses_leave_no_salt_and_the_chain_verifies(people):
    ids = people["ids"]
    gone, noticed = ids["gone@example.org"], ids["noticed@example.org"]
    assert PersonalSalt.objects.filter(model_label="subscriptions.historicalsubscriber").exists()

    subscribers_purge(now=people["start"] + timedelta(days=30))

    versions = Subscriber.history.filter(id__in=[gone, noticed])
    assert sorted(set(versions.values_list("id", "email"))) == sorted(
        [(gone, f"subscriber-{gone}@erased.invalid"), (noticed, f"subscriber-{noticed}@erased.invalid")]
    )
    salted = PersonalSalt.objects.filter(
        model_label="subscriptions.historicalsubscriber", row_pk__in=versions.values("history_id")
    )
    assert not salted.exists()
    assert sorted(PurgeRecord.objects.values_list("reason", flat=True)) == [
        "retention purge of a subscriber's address: 4 versions",  # gone: asked, confirmed, left, deleted
        "retention purge of a subscriber's address: 4 versions",  # noticed: asked, confirmed, left, erased
    ]
    assert verify_chain().ok
