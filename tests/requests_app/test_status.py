"""The requester's status page and file downloads: only what the link opens."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from requests_app import services
from requests_app.models import TicketAttachment
from requests_app.ratelimits import REPLY_GROUP

from .helpers import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    pdf_upload,
    submit,
    verification_link_token,
)

pytestmark = pytest.mark.django_db

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


def fulfilled_dpa(handler, **overrides):
    ticket, token = submit("dpa", **overrides)
    services.ticket_transition(ticket_id=ticket.pk, to_status="in_progress", actor=handler)
    services.ticket_transition(
        ticket_id=ticket.pk,
        to_status="fulfilled",
        actor=handler,
        reason="Countersigned copy attached.",
        attachment=pdf_upload("Signed DPA.pdf", PDF_BYTES),
    )
    ticket.refresh_from_db()
    return ticket, token


def test_status_page_shows_the_requester_view(client, handler):
    ticket, token = submit("dpa")
    services.ticket_transition(ticket_id=ticket.pk, to_status="in_progress", actor=handler)
    services.ticket_add_message(ticket_id=ticket.pk, message="We will send it on Monday.", actor=handler)
    services.ticket_add_note(ticket_id=ticket.pk, body="INTERNAL: legal wants a second look", actor=handler)
    services.ticket_assign(ticket_id=ticket.pk, assignee=handler, actor=handler)

    response = client.get(f"/requests/status/{token}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<span data-testid="reference">{ticket.reference}</span>' in html
    assert "Data processing agreement (DPA)" in html
    assert '<span class="status status-in_progress" data-testid="status">In progress</span>' in html
    assert f'datetime="{ticket.due_at.isoformat()}' in html or ticket.due_at.strftime("%-d %B %Y") in html
    assert "We will send it on Monday." in html
    heads = re.findall(r'<p class="timeline-head">.*?<strong>(.*?)</strong>(.*?)</p>', html)
    assert heads == [("Request received", ""), ("Status changed", ": In progress"), ("Message from us", "")]
    # Internal notes and staff-only events never reach the requester.
    assert "INTERNAL: legal wants a second look" not in html
    assert "Assigned" not in html
    assert handler.username not in html
    timeline = html.split('<ol class="timeline">')[1].split("</ol>")[0]
    assert timeline.count('<li class="timeline-item">') == ticket.events.filter(visible_to_requester=True).count()
    assert ticket.events.filter(visible_to_requester=False).exists()


def test_status_page_is_private(client):
    _ticket, token = submit("dpa")
    response = client.get(f"/requests/status/{token}/")
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Robots-Tag"] == "noindex, nofollow"


@pytest.mark.parametrize("messages", [1, 3])
def test_status_page_query_count_does_not_grow_with_events(client, handler, django_assert_num_queries, messages):
    ticket, token = submit("dpa")
    services.ticket_transition(ticket_id=ticket.pk, to_status="in_progress", actor=handler)
    for n in range(messages):
        services.ticket_add_message(ticket_id=ticket.pk, message=f"Update {n}", actor=handler)
    # Ticket, its visible events, its files, the published organization (header).
    with django_assert_num_queries(4):
        response = client.get(f"/requests/status/{token}/")
    assert response.content.decode().count("Update ") == messages


@pytest.mark.parametrize("token", ["x" * 43, "short", "a" * 300, "%00"])
def test_wrong_status_link_reveals_nothing(client, token):
    ticket, _real = submit("dpa")
    response = client.get(f"/requests/status/{token}/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "This status link is not valid." in html
    assert ticket.reference not in html
    assert "Example GmbH" not in html
    assert "no-store" in response["Cache-Control"]


def test_requester_downloads_the_countersigned_file(client, handler):
    ticket, token = fulfilled_dpa(handler)
    attachment = ticket.attachments.get()
    page = client.get(f"/requests/status/{token}/").content.decode()
    assert f'href="/requests/status/{token}/files/{attachment.pk}/" download>Signed DPA.pdf</a>' in page

    response = client.get(f"/requests/status/{token}/files/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="Signed_DPA.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"


def test_file_of_another_ticket_is_not_served_under_this_link(client, handler):
    theirs, _their_token = fulfilled_dpa(handler, requester_email="other@example.net")
    _mine, my_token = submit("dpa")
    their_file = theirs.attachments.get()
    response = client.get(f"/requests/status/{my_token}/files/{their_file.pk}/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "This file is not available through this link." in html
    assert "Signed DPA" not in html and theirs.reference not in html


def test_file_under_a_wrong_link_is_not_served(client, handler):
    ticket, _token = fulfilled_dpa(handler)
    attachment = ticket.attachments.get()
    response = client.get(f"/requests/status/{'z' * 43}/files/{attachment.pk}/")
    assert response.status_code == 404
    assert "Content-Disposition" not in response


def test_hidden_file_is_not_served(client, handler):
    ticket, token = fulfilled_dpa(handler)
    attachment = ticket.attachments.get()
    TicketAttachment.objects.filter(pk=attachment.pk).update(visible_to_requester=False)
    assert client.get(f"/requests/status/{token}/files/{attachment.pk}/").status_code == 404
    assert f"/files/{attachment.pk}/" not in client.get(f"/requests/status/{token}/").content.decode()


def test_requester_pages_have_no_inline_script_or_style(client):
    ticket, token = submit("dsr_erasure")
    for url in (
        f"/requests/status/{token}/",
        f"/requests/verify/{verification_link_token(ticket)}/",
        f"/requests/status/{'n' * 43}/",
    ):
        html = client.get(url).content.decode()
        assert "<script" not in html and "style=" not in html and "<style" not in html


def test_status_link_works_in_a_fresh_browser(handler):
    """The link is the credential: no session, no login."""
    ticket, token = submit("dpa")
    response = Client().get(f"/requests/status/{token}/")
    assert response.status_code == 200
    assert ticket.reference in response.content.decode()


def reply(client, token, message, submission_token="reply-token-0000000000001"):
    return client.post(f"/requests/status/{token}/reply/", {"message": message, "submission_token": submission_token})


def test_requester_answers_a_question_from_the_status_page(client, handler):
    ticket, token = submit("dpa")
    services.ticket_transition(ticket_id=ticket.pk, to_status="in_progress", actor=handler)
    services.ticket_request_info(ticket_id=ticket.pk, message="Which entity signs?", actor=handler)
    page = client.get(f"/requests/status/{token}/").content.decode()
    assert '<h2 id="reply-title">Answer our question</h2>' in page
    assert "Which entity signs?" in page

    response = reply(client, token, "Example GmbH, Berlin.")
    assert response.status_code == 302
    assert response["Location"] == f"/requests/status/{token}/"
    ticket.refresh_from_db()
    assert ticket.status == "in_progress"
    event = ticket.events.get(kind="requester_reply")
    assert (event.message, event.visible_to_requester, event.actor) == ("Example GmbH, Berlin.", True, None)
    page = client.get(f"/requests/status/{token}/").content.decode()
    assert "Your reply was sent. It now shows in the timeline below." in page
    assert "Example GmbH, Berlin." in page


def test_double_posted_reply_is_sent_once(client, handler):
    ticket, token = submit("dpa")
    for _ in range(2):
        assert reply(client, token, "Hello").status_code == 302
    assert ticket.events.filter(kind="requester_reply").count() == 1


def test_empty_reply_is_explained(client):
    ticket, token = submit("dpa")
    response = reply(client, token, "  ")
    assert response.status_code == 400
    assert '<a href="#id_message">Your reply: This field is required.</a>' in response.content.decode()
    assert not ticket.events.filter(kind="requester_reply").exists()


def test_no_reply_on_a_finished_or_unverified_request(client, handler):
    done, done_token = fulfilled_dpa(handler)
    assert 'id="reply-title"' not in client.get(f"/requests/status/{done_token}/").content.decode()
    assert "reply/" not in client.get(f"/requests/status/{done_token}/").content.decode()
    response = reply(client, done_token, "One more thing")
    assert response.status_code == 400
    assert "This request is no longer open for replies." in response.content.decode()
    assert not done.events.filter(kind="requester_reply").exists()

    unverified, unverified_token = submit("dsr_erasure")
    assert 'id="reply-title"' not in client.get(f"/requests/status/{unverified_token}/").content.decode()
    assert reply(client, unverified_token, "Hi").status_code == 400
    assert not unverified.events.filter(kind="requester_reply").exists()


def test_reply_through_a_wrong_link_is_404(client):
    ticket, _token = submit("dpa")
    response = reply(client, "q" * 43, "Hello")
    assert response.status_code == 404
    assert not ticket.events.filter(kind="requester_reply").exists()


def test_replies_are_rate_limited(client, settings, ratelimit_wait):
    settings.REQUEST_RATE_PER_IP = "1/h"
    ticket, token = submit("dpa")
    assert reply(client, token, "First", "reply-token-0000000000001").status_code == 302
    response = reply(client, token, "Second", "reply-token-0000000000002")
    assert response.status_code == 429
    assert response["Retry-After"] == str(ratelimit_wait(REPLY_GROUP, "127.0.0.1", "1/h"))
    assert ticket.events.filter(kind="requester_reply").count() == 1


def status_url(token):
    return reverse("requests_app:status", args=[token])


def test_status_page_headings_and_labels_say_each_thing_once(client, handler):
    _ticket, token = submit("dpa")
    html = client.get(status_url(token)).content.decode()
    assert re.findall(r"<h2[^>]*>(.*?)</h2>", html) == ["Summary", "Timeline", "Write to us about this request"]
    assert re.findall(r"<dt>(.*?)</dt>", html) == ["Status", "Received", "Due by"]


def test_status_page_names_the_state_as_the_table_says(client, handler):
    ticket, token = submit("dpa")
    services.ticket_transition(ticket_id=ticket.pk, to_status="in_progress", actor=handler)
    services.ticket_request_info(ticket_id=ticket.pk, message="Which entity signs?", actor=handler)
    html = client.get(status_url(token)).content.decode()
    assert '<span class="status status-awaiting_requester" data-testid="status">Waiting for your answer</span>' in html
    assert '<p class="notice">We have asked you for something; please answer below.</p>' in html
    heads = re.findall(r'<p class="timeline-head">.*?<strong>(.*?)</strong>(.*?)</p>', html)
    assert heads[-1] == ("Status changed", ": Waiting for your answer")


def test_status_page_asks_for_confirmation_while_identity_is_pending(client, handler):
    ticket, token = submit("dsr_access")
    notice = "We are waiting for you to confirm this request through the link we sent"
    html = client.get(status_url(token)).content.decode()
    assert "Waiting for your confirmation</span>" in html and notice in html
    services.ticket_transition(ticket_id=ticket.pk, to_status="open", actor=handler, reason="Link pending.")
    html = client.get(status_url(token)).content.decode()
    assert 'data-testid="status">Open</span>' in html and notice in html
    client.post(reverse("requests_app:verify", args=[verification_link_token(ticket)]))
    assert notice not in client.get(status_url(token)).content.decode()
