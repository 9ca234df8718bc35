"""Identity verification links: GET shows a button, POST verifies, once, within the validity."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from requests_app import services
from requests_app.models import VerificationToken

from .helpers import fresh_rate_limits, submit, verification_link_token  # noqa: F401

pytestmark = pytest.mark.django_db


def invalid_page(client: Client, token: str, method: str = "post"):
    response = getattr(client, method)(f"/requests/verify/{token}/")
    return response.status_code, response.content.decode()


def test_get_shows_a_button_and_uses_nothing_up(client):
    ticket, _status = submit("dsr_erasure")
    token = verification_link_token(ticket)
    for _ in range(3):  # a mail scanner fetching the link, then the person
        response = client.get(f"/requests/verify/{token}/")
        assert response.status_code == 200
        assert '<button type="submit" class="button">Confirm my request</button>' in response.content.decode()
        assert "no-store" in response["Cache-Control"]
        # Not "no-referrer": browsers would then send Origin: null and fail CSRF.
        assert response["Referrer-Policy"] == "same-origin"
    ticket.refresh_from_db()
    assert ticket.status == "awaiting_verification"
    assert ticket.verified_at is None
    assert VerificationToken.objects.get(ticket=ticket).used_at is None
    # The button page names no ticket.
    assert ticket.reference not in response.content.decode()


def test_post_verifies_and_confirms_with_the_reference(client):
    ticket, _status = submit("dsr_erasure")
    token = verification_link_token(ticket)
    response = client.post(f"/requests/verify/{token}/")
    assert response.status_code == 302
    assert response["Location"] == "/requests/verified/"
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.verified_at is not None
    page = client.get("/requests/verified/").content.decode()
    assert f'data-testid="reference">{ticket.reference}</strong>' in page
    assert Client().get("/requests/verified/").status_code == 404


def test_wrong_used_and_expired_links_get_the_same_page(client):
    used_ticket, _ = submit("dsr_erasure", requester_email="used@example.org")
    used = verification_link_token(used_ticket)
    assert client.post(f"/requests/verify/{used}/").status_code == 302

    expired_ticket, _ = submit("dsr_access", requester_email="late@example.org")
    expired = verification_link_token(expired_ticket)
    VerificationToken.objects.filter(ticket=expired_ticket).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    fresh = Client()
    pages = {
        "wrong": invalid_page(fresh, "w" * 43),
        "used": invalid_page(fresh, used),
        "expired": invalid_page(fresh, expired),
        "malformed": invalid_page(fresh, "not a token!"),
        "used-get": invalid_page(fresh, used, "get"),
        "expired-get": invalid_page(fresh, expired, "get"),
    }
    statuses = {status for status, _html in pages.values()}
    bodies = {html for _status, html in pages.values()}
    assert statuses == {404}
    assert len(bodies) == 1  # nothing tells one case from another
    body = bodies.pop()
    assert "This confirmation link is not valid." in body
    for ticket in (used_ticket, expired_ticket):
        assert ticket.reference not in body
    expired_ticket.refresh_from_db()
    assert expired_ticket.status == "awaiting_verification"


def test_verification_link_expires_after_seven_days(client):
    ticket, _ = submit("dsr_erasure")
    vt = VerificationToken.objects.get(ticket=ticket)
    assert vt.expires_at - vt.created_at == dt.timedelta(days=7)


def test_unverified_erasure_cannot_be_fulfilled(handler):
    ticket, _ = submit("dsr_erasure")
    with pytest.raises(ValidationError) as refused:
        services.ticket_transition(ticket_id=ticket.pk, to_status="fulfilled", actor=handler)
    assert refused.value.code == "transition_not_allowed"
    ticket.refresh_from_db()
    assert ticket.status == "awaiting_verification"


def test_verified_erasure_can_be_fulfilled(client, handler):
    ticket, _ = submit("dsr_erasure")
    client.post(f"/requests/verify/{verification_link_token(ticket)}/")
    services.ticket_transition(ticket_id=ticket.pk, to_status="in_progress", actor=handler)
    services.ticket_transition(ticket_id=ticket.pk, to_status="fulfilled", actor=handler, reason="Account deleted.")
    ticket.refresh_from_db()
    assert ticket.status == "fulfilled"


def test_link_of_a_request_that_expired_unconfirmed_is_invalid(client, handler):
    ticket, _ = submit("dsr_erasure")
    token = verification_link_token(ticket)
    services.ticket_transition(ticket_id=ticket.pk, to_status="expired", actor=handler, reason="not confirmed")
    for method in ("get", "post"):
        status, html = invalid_page(client, token, method)
        assert status == 404
        assert "This confirmation link is not valid." in html
    ticket.refresh_from_db()
    assert (ticket.status, ticket.verified_at) == ("expired", None)
