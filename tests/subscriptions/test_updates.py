"""Published updates mailed to the subscribers of their category, each once."""

from typing import cast

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from compliance import services as compliance_services
from compliance.events import UpdatePublished, update_published
from core.models import OutboxMail
from core.outbox import outbox_send_due
from subscriptions import services
from subscriptions.models import Subscriber, UpdateNotice
from tests.factories import publish_update, write_update

from .helpers import mailed_token, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def audience(clock):
    """Who is owed a security update: only `all` and `sec` (confirmed, scope
    "all updates", security chosen)."""
    subscribe("all@example.org")
    subscribe("sec@example.org", update_categories=["security"])
    subscribe("privacy@example.org", update_categories=["privacy", "roadmap"])
    subscribe("none@example.org", update_categories=[])
    subscribe("subprocessors@example.org", "subprocessors")
    subscribe("pending@example.org", confirm=False)
    gone = subscribe("gone@example.org")
    services.subscriber_unsubscribe(raw_token=mailed_token("unsubscribe", to="gone@example.org"))
    gone.refresh_from_db()
    assert gone.unsubscribed_at is not None
    clock.advance(minutes=1)


def _notified() -> list[str]:
    return sorted(UpdateNotice.objects.values_list("subscriber__email", flat=True))


def test_a_published_update_mails_exactly_the_subscribers_of_its_category_once(
    audience, published, editor, approver, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    update = write_update(editor=editor, category="security")
    with django_capture_on_commit_callbacks(execute=True):  # the approval commits: UpdatePublished
        publish_update(update=update, requester=editor, approver=approver)
    task = DBTaskResult.objects.get(task_path="subscriptions.tasks.send_update_notices")
    assert (task.args_kwargs, task.status) == ({"args": [], "kwargs": {"update_id": update.pk}}, "READY")
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    assert _notified() == ["all@example.org", "sec@example.org"]
    # Re-driven: the event again, and the service again, mail nobody twice.
    update_published.send_now(UpdatePublished(update_id=update.pk, category="security"))
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert services.update_notices_send(update_id=update.pk) == 0
    assert _notified() == ["all@example.org", "sec@example.org"]

    mail.outbox.clear()
    outbox_send_due()
    sent = sorted((m.to[0], m.subject) for m in mail.outbox if "update:" in m.subject)
    assert sent == [
        ("all@example.org", "Security update: TLS 1.0 retired"),
        ("sec@example.org", "Security update: TLS 1.0 retired"),
    ]
    message = next(m for m in mail.outbox if m.to == ["sec@example.org"] and "update:" in m.subject)
    headers = message.message()
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = mailed_token("unsubscribe", to="sec@example.org")
    assert f"/subscribe/unsubscribe/{token}/" in headers["List-Unsubscribe"]
    assert "We no longer accept **TLS 1.0**." in message.body
    assert "https://trust.example.com/updates/tls-1-0-retired/" in message.body
    html = str(cast(EmailMultiAlternatives, message).alternatives[0][0])
    assert "<p>We no longer accept <strong>TLS 1.0</strong>.</p>" in html
    stored = OutboxMail.objects.get(pk=UpdateNotice.objects.get(subscriber__email="sec@example.org").mail_id)
    assert stored.headers["List-Unsubscribe"].startswith("<[[unsubscribe_url]]>")  # no raw token stored


def test_a_correction_mails_nobody_again(audience, published, editor, approver, clock):
    update = write_update(editor=editor, category="privacy")
    publish_update(update=update, requester=editor, approver=approver)
    assert services.update_notices_send(update_id=update.pk) == 2
    clock.advance(hours=1)
    update.body = "Corrected."
    compliance_services.update_save(obj=update, actor=editor, reason="correct")
    publish_update(update=update, requester=editor, approver=approver)
    assert services.update_notices_send(update_id=update.pk) == 0
    assert _notified() == ["all@example.org", "privacy@example.org"]


def test_an_update_never_approved_mails_nobody(audience, published, editor):
    update = write_update(editor=editor, category="security")
    compliance_services.update_request(update_id=update.pk, actor=editor)
    assert services.update_notices_send(update_id=update.pk) == 0
    assert UpdateNotice.objects.count() == 0


def test_who_confirms_after_publication_is_not_mailed_that_update(clock, published, editor, approver):
    update = write_update(editor=editor)
    publish_update(update=update, requester=editor, approver=approver)
    clock.advance(minutes=1)
    subscribe("late@example.org")
    assert services.update_notices_send(update_id=update.pk) == 0


def test_categories_asked_for_apply_once_confirmed(clock):
    subscribe("ann@example.org", update_categories=["security"])
    services.subscriber_request(email="ann@example.org", scope="all", update_categories=["roadmap", "general"])
    subscriber = Subscriber.objects.get()
    assert (subscriber.update_categories, subscriber.requested_update_categories) == (
        ["security"],
        ["general", "roadmap"],
    )
    services.subscriber_confirm(raw_token=mailed_token("confirm", to="ann@example.org"))
    subscriber.refresh_from_db()
    assert subscriber.update_categories == ["general", "roadmap"]
    assert subscriber.history.order_by("-history_id").first().update_categories == ["general", "roadmap"]


def test_unknown_categories_are_refused_and_change_nothing(clock):
    with pytest.raises(ValidationError) as caught:
        services.subscriber_request(email="ann@example.org", scope="all", update_categories=["gossip"])
    assert caught.value.code == "categories_invalid"
    assert Subscriber.objects.count() == 0


def test_the_form_offers_every_category_ticked_and_keeps_the_choice(client, clock):
    html = client.get("/subscribe/").content.decode()
    assert html.count('name="update_categories"') == 6
    assert (
        '<input type="checkbox" name="update_categories" value="incident" id="id_update_categories_4" checked>' in html
    )
    response = client.post(
        "/subscribe/", {"email": "bob@example.org", "scope": "all", "update_categories": ["incident", "security"]}
    )
    assert response.status_code == 302
    assert Subscriber.objects.get().requested_update_categories == ["security", "incident"]
