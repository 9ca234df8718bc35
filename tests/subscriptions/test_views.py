"""The public pages under /subscribe/ and the links on the trust page."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client

from core.models import OutboxMail
from core.outbox import outbox_send_due
from requests_app.models import Ticket
from subscriptions import services
from subscriptions.models import SubprocessorObjection, Subscriber
from subscriptions.views import EMAIL_GROUP, IP_GROUP
from tests.factories import SubprocessorFactory, publish_draft

from .helpers import mailed_token, subscribe

pytestmark = pytest.mark.django_db


def test_the_trust_page_links_to_subscribing(published, client):
    html = client.get("/").content.decode()

    assert '<a href="/subscribe/">Get changes by email</a>' in html
    assert '<a href="/subscribe/?scope=subprocessors">Get notified by email when our subprocessors change</a>' in html


def test_the_form_preselects_the_scope_from_the_link(client):
    html = client.get("/subscribe/?scope=subprocessors").content.decode()

    assert '<input type="radio" name="scope" value="subprocessors" id="id_scope_1" required checked>' in html


def test_the_answer_is_the_same_for_a_new_and_a_subscribed_address(client, clock):
    subscribe("old@example.org", "all")

    new = client.post("/subscribe/", {"email": "new@example.org", "scope": "all"}, follow=True)
    old = client.post("/subscribe/", {"email": "old@example.org", "scope": "all"}, follow=True)

    assert new.redirect_chain == old.redirect_chain == [("/subscribe/sent/", 302)]
    assert new.content == old.content
    assert "Check your inbox" in new.content.decode()
    assert Subscriber.objects.get(email="new@example.org").confirmed_at is None


def test_the_form_is_rate_limited_per_address_and_sends_nothing_over(client, settings, ratelimit_wait):
    settings.SUBSCRIBE_RATE_PER_EMAIL = "2/h"
    for _ in range(2):
        client.post("/subscribe/", {"email": "ann@example.org", "scope": "all"})

    response = client.post("/subscribe/", {"email": "ann@example.org", "scope": "all"})

    assert response.status_code == 429
    assert response["Retry-After"] == str(ratelimit_wait(EMAIL_GROUP, "ann@example.org", "2/h"))
    assert "Too many subscription requests" in response.content.decode()
    outbox_send_due()
    assert len(mail.outbox) == 2


def test_the_form_is_rate_limited_per_network(client, settings, ratelimit_wait):
    settings.SUBSCRIBE_RATE_PER_IP = "2/h"
    client.post("/subscribe/", {"email": "a@example.org", "scope": "all"})
    client.post("/subscribe/", {"email": "b@example.org", "scope": "all"})

    response = client.post("/subscribe/", {"email": "c@example.org", "scope": "all"})

    assert response.status_code == 429
    assert response["Retry-After"] == str(ratelimit_wait(IP_GROUP, "127.0.0.1", "2/h"))
    assert not Subscriber.objects.filter(email="c@example.org").exists()


def test_plus_tag_and_case_variants_count_as_one_address(client, settings, ratelimit_wait):
    settings.SUBSCRIBE_RATE_PER_EMAIL = "2/h"
    client.post("/subscribe/", {"email": "ann+one@example.org", "scope": "all"})
    client.post("/subscribe/", {"email": "ANN@example.org", "scope": "all"})

    response = client.post("/subscribe/", {"email": "Ann+three@Example.org", "scope": "all"})

    assert response.status_code == 429
    assert response["Retry-After"] == str(ratelimit_wait(EMAIL_GROUP, "ann@example.org", "2/h"))
    assert not Subscriber.objects.filter(email="ann+three@example.org").exists()


def test_the_network_limit_groups_ipv6_clients_by_64(settings):
    settings.SUBSCRIBE_RATE_PER_IP = "2/h"
    for n, address in enumerate(["2001:db8:7:7::1", "2001:db8:7:7::2"]):
        Client(REMOTE_ADDR=address).post("/subscribe/", {"email": f"n{n}@example.org", "scope": "all"})

    refused = Client(REMOTE_ADDR="2001:db8:7:7:abcd::3").post("/subscribe/", {"email": "c@example.org", "scope": "all"})
    other_net = Client(REMOTE_ADDR="2001:db8:7:8::1").post("/subscribe/", {"email": "d@example.org", "scope": "all"})

    assert (refused.status_code, other_net.status_code) == (429, 302)
    assert sorted(Subscriber.objects.values_list("email", flat=True)) == [
        "d@example.org",
        "n0@example.org",
        "n1@example.org",
    ]


def test_confirm_get_only_shows_a_button_and_post_confirms(client, clock):
    services.subscriber_request(email="ann@example.org", scope="subprocessors")
    token = mailed_token("confirm", to="ann@example.org")

    shown = client.get(f"/subscribe/confirm/{token}/")
    assert Subscriber.objects.get().confirmed_at is None
    assert '<button type="submit" class="button">Confirm</button>' in shown.content.decode()
    assert shown["Cache-Control"] == "no-store"
    assert shown["X-Robots-Tag"] == "noindex, nofollow"

    done = client.post(f"/subscribe/confirm/{token}/")
    assert "You will receive: subprocessor changes only." in done.content.decode()
    assert Subscriber.objects.get().is_active is True
    assert client.post(f"/subscribe/confirm/{token}/").status_code == 404


def test_one_click_unsubscribe_by_post_without_csrf_token_or_cookie(clock):
    subscribe("ann@example.org", "all")
    token = mailed_token("unsubscribe", to="ann@example.org")
    mail_client = Client(enforce_csrf_checks=True)

    response = mail_client.post(
        f"/subscribe/unsubscribe/{token}/",
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert Subscriber.objects.get().unsubscribed_at == clock.now


def test_unsubscribe_get_shows_a_confirm_button_and_changes_nothing(client, clock):
    subscribe("ann@example.org", "all")
    token = mailed_token("unsubscribe", to="ann@example.org")

    response = client.get(f"/subscribe/unsubscribe/{token}/")

    assert (
        '<form method="post"><button type="submit" class="button">Unsubscribe</button></form>'
        in response.content.decode()
    )
    assert Subscriber.objects.get().unsubscribed_at is None


def test_a_wrong_unsubscribe_link_is_refused(client):
    subscribe("ann@example.org", "all")

    assert client.post("/subscribe/unsubscribe/not-a-real-token-at-all/").status_code == 404
    assert Subscriber.objects.get().unsubscribed_at is None


# --- objections ----------------------------------------------------------------------------

OBJECTION = {
    "legal_entity": "Example GmbH",
    "requester_name": "Olga Objector",
    "requester_email": "olga@example.de",
    "subprocessor": "fly-io",
    "details": "Hosting outside our approved vendors.",
    "website": "",
    "submission_token": "objection-token-0001-abcdefgh",
}


@pytest.fixture
def change(clock, published, editor, approver):
    SubprocessorFactory.create(actor=editor)
    return publish_draft(requester=editor, approver=approver, effective_at=clock.now + timedelta(days=30))


def test_the_objection_form_names_the_change_and_its_deadline(client, change):
    html = client.get("/subscribe/object/2/").content.decode()

    assert "<li>Subprocessor added: Fly.io</li>" in html
    assert "Objections are open until 1 July 2026, 09:00 UTC." in html
    assert 'value="fly-io"' in html


def test_an_objection_becomes_a_ticket_of_its_own_kind(client, change, clock):
    response = client.post("/subscribe/object/2/", OBJECTION)

    assert response.status_code == 302 and response["Location"] == "/requests/submitted/"
    ticket = Ticket.objects.get()
    assert (ticket.kind, ticket.reference, ticket.status) == ("subprocessor_objection", "OBJ-2026-000001", "open")
    assert (ticket.legal_entity, ticket.requester_name, ticket.requester_email) == (
        "Example GmbH",
        "Olga Objector",
        "olga@example.de",
    )
    assert ticket.form_data == {"publication_version": 2, "subprocessor": "fly-io"}
    assert ticket.details == "Hosting outside our approved vendors."
    # Ten business days from Monday 1 June 2026 (no US holiday in between).
    assert ticket.due_at.date().isoformat() == "2026-06-15"
    objection = SubprocessorObjection.objects.get()
    assert (objection.publication_id, objection.subprocessor_name) == (change.pk, "Fly.io")
    assert client.get("/requests/submitted/").context["reference"] == "OBJ-2026-000001"


def test_an_objection_after_the_window_is_refused_with_the_closing_date(client, change, clock):
    clock.advance(days=30, seconds=1)

    shown = client.get("/subscribe/object/2/")
    sent = client.post("/subscribe/object/2/", OBJECTION)

    assert shown.status_code == sent.status_code == 410
    assert "could be made until 1 July 2026, 09:00 UTC. This form no longer accepts them." in sent.content.decode()
    assert Ticket.objects.count() == 0


def test_the_service_refuses_an_objection_after_the_window(change, clock):
    from django.core.exceptions import ValidationError

    clock.advance(days=31)
    with pytest.raises(ValidationError) as refused:
        services.objection_submit(
            publication=change, subprocessor_slug="fly-io", data={}, submission_token="objection-token-0002-abcdefgh"
        )
    assert refused.value.code == "objection_window_closed"


def test_no_objection_form_for_a_version_without_subprocessor_change(client, published):
    assert client.get("/subscribe/object/1/").status_code == 404
    assert client.get("/subscribe/object/99/").status_code == 404


def test_an_objection_to_a_subprocessor_the_change_does_not_concern_is_refused(client, change):
    response = client.post("/subscribe/object/2/", {**OBJECTION, "subprocessor": "stripe"})

    assert response.status_code == 400
    assert Ticket.objects.count() == 0


def test_over_the_daily_mail_cap_the_answer_is_the_same_and_the_mail_is_withheld(settings, make_staff):
    settings.PUBLIC_MAIL_PER_ADDRESS_PER_DAY = 1
    under = Client(REMOTE_ADDR="198.51.100.1").post("/subscribe/", {"email": "ann@example.org", "scope": "all"})
    over = Client(REMOTE_ADDR="198.51.100.2").post(
        "/subscribe/", {"email": "Ann+news@example.org", "scope": "all"}, follow=True
    )

    assert over.redirect_chain == [("/subscribe/sent/", 302)] and under["Location"] == "/subscribe/sent/"
    assert "Check your inbox" in over.content.decode()
    assert list(OutboxMail.objects.order_by("id").values_list("to", "status")) == [
        ("ann@example.org", "queued"),
        ("ann+news@example.org", "withheld"),
    ]
    outbox_send_due()
    assert [m.to for m in mail.outbox] == [["ann@example.org"]]
    # Staff find it in the outbox, filtered by its status.
    admin = Client()
    admin.force_login(make_staff("root", superuser=True))
    listing = admin.get("/admin/core/outboxmail/", {"status__exact": "withheld"})
    assert listing.context["cl"].result_count == 1
    assert [row.to for row in listing.context["cl"].result_list] == ["ann+news@example.org"]
