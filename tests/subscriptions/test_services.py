"""Subscribing (double opt-in), unsubscribing and the notices of publications."""

import hashlib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from compliance.models import Certification, Subprocessor
from core.models import OutboxMail
from core.outbox import outbox_send_due
from subscriptions import services
from subscriptions.models import SubprocessorNotice, Subscriber
from tests.factories import SubprocessorFactory, publish_draft, save

from .helpers import mailed_token, subscribe

pytestmark = pytest.mark.django_db


# --- double opt-in -----------------------------------------------------------------------


def test_a_request_mails_a_confirmation_link_whose_token_is_stored_only_hashed(clock):
    subscriber = services.subscriber_request(email=" Ann@Example.ORG ", scope="subprocessors")

    queued = OutboxMail.objects.get(to="ann@example.org")
    assert (queued.template, queued.subject) == ("subscription_confirm", "Please confirm your subscription")
    assert "[[confirm_url]]" in queued.body_text  # the outbox holds a placeholder, not the link
    token = mailed_token("confirm", to="ann@example.org")
    subscriber.refresh_from_db()
    assert subscriber.confirm_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Subscriber.objects.filter(pk=subscriber.pk).values().get())
    assert token not in OutboxMail.objects.get(pk=queued.pk).body_text
    assert (subscriber.email, subscriber.confirmed_at, subscriber.is_active) == ("ann@example.org", None, False)


def test_the_confirmation_link_subscribes_once_with_the_scope_asked_for(clock):
    services.subscriber_request(email="ann@example.org", scope="subprocessors")
    token = mailed_token("confirm", to="ann@example.org")

    subscriber = services.subscriber_confirm(raw_token=token)

    assert (subscriber.scope, subscriber.confirmed_at, subscriber.is_active) == ("subprocessors", clock.now, True)
    with pytest.raises(ValidationError) as refused:
        services.subscriber_confirm(raw_token=token)
    assert refused.value.code == "link_invalid"


def test_a_confirmation_link_expires_after_seven_days(clock):
    services.subscriber_request(email="ann@example.org", scope="all")
    token = mailed_token("confirm", to="ann@example.org")
    clock.advance(days=7)

    with pytest.raises(ValidationError) as refused:
        services.subscriber_confirm(raw_token=token)

    assert refused.value.code == "link_invalid"
    assert Subscriber.objects.get().confirmed_at is None


def test_asking_again_for_a_subscribed_address_changes_nothing_until_confirmed(clock):
    subscriber = subscribe("ann@example.org", "all")
    mails_before = len(mail.outbox)

    services.subscriber_request(email="ann@example.org", scope="subprocessors")
    outbox_send_due()

    subscriber.refresh_from_db()
    assert (subscriber.scope, subscriber.requested_scope, subscriber.is_active) == ("all", "subprocessors", True)
    assert len(mail.outbox) == mails_before + 1
    assert mail.outbox[-1].subject == "Please confirm your subscription"


def test_unsubscribing_twice_is_harmless_and_kills_a_pending_confirmation(clock):
    subscriber = subscribe("ann@example.org")
    services.subscriber_request(email="ann@example.org", scope="subprocessors")
    confirm_token = mailed_token("confirm", to="ann@example.org")
    unsubscribe_token = mailed_token("unsubscribe", to="ann@example.org")

    services.subscriber_unsubscribe(raw_token=unsubscribe_token)
    clock.advance(minutes=5)
    services.subscriber_unsubscribe(raw_token=unsubscribe_token)

    subscriber.refresh_from_db()
    assert (subscriber.unsubscribed_at, subscriber.is_active) == (clock.now - timedelta(minutes=5), False)
    with pytest.raises(ValidationError):
        services.subscriber_confirm(raw_token=confirm_token)


# --- notices -------------------------------------------------------------------------------


def _subscribers():
    return {
        "all": subscribe("all@example.org", "all"),
        "subs": subscribe("subs@example.org", "subprocessors"),
        "pending": subscribe("pending@example.org", "all", confirm=False),
        "gone": subscribe("gone@example.org", "subprocessors"),
    }


def test_a_subprocessor_change_gives_exactly_one_notice_per_confirmed_subscriber(clock, published, editor, approver):
    people = _subscribers()
    services.subscriber_unsubscribe(raw_token=mailed_token("unsubscribe", to="gone@example.org"))
    SubprocessorFactory.create(actor=editor)
    publication = publish_draft(requester=editor, approver=approver, summary="Fly.io hosts the application")

    first = services.publication_notices_send(publication_id=publication.pk)
    second = services.publication_notices_send(publication_id=publication.pk)

    notices = SubprocessorNotice.objects.filter(publication=publication)
    assert (first, second) == (2, 0)
    assert sorted(n.subscriber.email for n in notices) == ["all@example.org", "subs@example.org"]
    assert {n.subprocessor_change for n in notices} == {True}
    assert {n.mail.to for n in notices} == {"all@example.org", "subs@example.org"}
    assert not SubprocessorNotice.objects.filter(subscriber__in=[people["pending"], people["gone"]]).exists()


def test_the_database_refuses_a_second_notice_of_a_publication(clock, published, editor, approver):
    subscriber = subscribe("all@example.org", "all")
    SubprocessorFactory.create(actor=editor)
    publication = publish_draft(requester=editor, approver=approver)
    services.publication_notices_send(publication_id=publication.pk)
    notice = SubprocessorNotice.objects.get()

    with pytest.raises(Exception) as refused:
        SubprocessorNotice.objects.create(
            publication=publication,
            subscriber=subscriber,
            mail=OutboxMail.objects.latest("pk"),
            subprocessor_change=True,
            created_at=clock.now,
        )
    assert type(refused.value).__name__ == "IntegrityError"
    assert notice.pk


def test_a_publication_without_subprocessor_change_reaches_all_updates_subscribers_only(
    clock,
    published,
    editor,
    approver,
):
    _subscribers()
    cert = Certification.objects.get(slug="soc2-type-1")
    cert.target = "Q1 2027"
    save(cert, editor, "audit moved")
    publication = publish_draft(requester=editor, approver=approver, summary="SOC 2 audit moved")

    assert services.publication_notices_send(publication_id=publication.pk) == 1

    notice = SubprocessorNotice.objects.get()
    assert (notice.subscriber.email, notice.subprocessor_change) == ("all@example.org", False)
    assert notice.mail.subject == "Trust page updated (version 2)"
    assert "SOC 2 Type I target: Q4 2026 -> Q1 2027" in notice.mail.body_text


def test_the_notice_says_what_changes_when_and_how_to_object(clock, published, editor, approver, settings):
    settings.SUBPROCESSOR_OBJECTION_DAYS = 14
    subscribe("subs@example.org", "subprocessors")
    SubprocessorFactory.create(actor=editor)
    old = Subprocessor.objects.get(slug="stripe")
    save(old, editor, "stripe leaves")  # unchanged row: no change announced for it
    go_live = clock.now + timedelta(days=30)
    publication = publish_draft(requester=editor, approver=approver, effective_at=go_live)

    services.publication_notices_send(publication_id=publication.pk)
    outbox_send_due()

    sent = mail.outbox[-1]
    assert sent.to == ["subs@example.org"]
    assert sent.subject == "Subprocessor change taking effect 1 July 2026"
    assert "- Subprocessor added: Fly.io" in sent.body
    assert "The change takes effect on 1 July 2026, 09:00 UTC." in sent.body
    assert (
        "tell\nus by 15 June 2026, 09:00 UTC through this form:\nhttps://trust.example.com/subscribe/object/2/"
        in sent.body
    )
    assert "Stripe" not in sent.body


def test_every_sent_notice_carries_one_click_unsubscribe_headers(clock, published, editor, approver):
    subscribe("subs@example.org", "subprocessors")
    SubprocessorFactory.create(actor=editor)
    publication = publish_draft(requester=editor, approver=approver)
    services.publication_notices_send(publication_id=publication.pk)

    outbox_send_due()

    sent = mail.outbox[-1]
    token = mailed_token("unsubscribe", to="subs@example.org")
    assert sent.extra_headers["List-Unsubscribe"] == (
        f"<https://trust.example.com/subscribe/unsubscribe/{token}/>, <mailto:trust@example.com?subject=unsubscribe>"
    )
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    message = sent.message()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert token in message["List-Unsubscribe"]
    stored = OutboxMail.objects.get(pk=SubprocessorNotice.objects.get().mail_id)
    assert stored.headers["List-Unsubscribe"].startswith("<[[unsubscribe_url]]>")  # no raw token stored


def test_approval_enqueues_the_notices_and_the_worker_sends_them_before_the_change(
    clock,
    published,
    editor,
    approver,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    # The worker recycles connections between tasks; the test's transaction must stay open.
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    subscribe("subs@example.org", "subprocessors")
    SubprocessorFactory.create(actor=editor)
    with django_capture_on_commit_callbacks(execute=True):  # the approval commits: PublicationApproved
        publication = publish_draft(requester=editor, approver=approver, effective_at=clock.now + timedelta(days=30))

    task = DBTaskResult.objects.get(
        task_path="subscriptions.tasks.send_publication_notices",
        args_kwargs__kwargs__publication_id=publication.pk,
    )
    assert (task.args_kwargs, task.status) == ({"args": [], "kwargs": {"publication_id": publication.pk}}, "READY")
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    assert list(SubprocessorNotice.objects.values_list("publication_id", "subscriber__email")) == [
        (publication.pk, "subs@example.org"),
    ]
    assert publication.effective_at > clock.now  # told before it takes effect


def test_going_live_serves_subscribers_who_confirmed_after_approval(clock, published, editor, approver):
    from compliance.tasks import GO_LIVE_SENT, publication_go_live

    subscribe("early@example.org", "subprocessors")
    SubprocessorFactory.create(actor=editor)
    publication = publish_draft(requester=editor, approver=approver, effective_at=clock.now + timedelta(days=3))
    services.publication_notices_send(publication_id=publication.pk)
    subscribe("late@example.org", "subprocessors")
    clock.advance(days=3)

    assert publication_go_live.call(publication.pk) == GO_LIVE_SENT
    assert publication_go_live.call(publication.pk) == GO_LIVE_SENT

    assert sorted(SubprocessorNotice.objects.values_list("subscriber__email", flat=True)) == [
        "early@example.org",
        "late@example.org",
    ]


def test_a_notice_carries_the_signed_checkpoint_that_holds_its_version(clock, published, editor, approver):
    from evidence.checkpoints import checkpoint_sign

    subscribe("all@example.org", "all")
    SubprocessorFactory.create(actor=editor)
    publication = publish_draft(requester=editor, approver=approver, summary="Fly.io hosts the application")
    # Signed after the approval commits (the receiver's on_commit); here by hand, as the test holds the transaction.
    checkpoint = checkpoint_sign(reason="publication")

    services.publication_notices_send(publication_id=publication.pk)

    outbox_send_due()
    notice = next(m for m in mail.outbox if m.subject.startswith("Subprocessor change"))
    assert checkpoint.note in notice.body
    assert "https://trust.example.com/evidence/checkpoint" in notice.body
    html = str(notice.alternatives[0][0])  # type: ignore[attr-defined]  # an EmailMultiAlternatives
    assert checkpoint.note.splitlines()[0] in html
