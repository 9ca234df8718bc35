"""Intake forms: what each kind asks, submission, confirmation, bad input."""

import re
from datetime import UTC, datetime

import pytest
from django import forms
from django.conf import settings
from django.test import Client

from compliance.services import publication_publish_initial
from core.history import system_actor
from core.intake import DETAILS_MAX, NAME_MAX
from core.models import OutboxMail
from requests_app import selectors
from requests_app.forms import DATA_RIGHTS, BaaRequestForm, DataSubjectRequestForm, DpaRequestForm
from requests_app.mail import STATUS_URL, status_url
from requests_app.models import Ticket

from .helpers import BAA_ANSWERS, DPA_ANSWERS, DSR_ANSWERS, fresh_rate_limits, post_form, reference_in  # noqa: F401

pytestmark = pytest.mark.django_db

DPA_URL = "/requests/new/dpa/"
BAA_URL = "/requests/new/baa/"
ERASURE_URL = "/requests/new/data-subject/erasure/"


def visible_inputs(html: str) -> list[str]:
    """Names of the fields a person fills in, in page order (no token, no honeypot)."""
    names = re.findall(r'<(?:input|textarea|select)[^>]*\bname="([^"]+)"', html)
    return [n for n in dict.fromkeys(names) if n not in {"csrfmiddlewaretoken", "submission_token", "website"}]


def test_each_form_asks_only_what_its_kind_needs(client):
    assert visible_inputs(client.get(DPA_URL).content.decode()) == [
        "legal_entity",
        "account_email",
        "requester_name",
        "requester_email",
        "notes",
    ]
    assert visible_inputs(client.get(BAA_URL).content.decode()) == [
        "legal_entity",
        "account_email",
        "requester_name",
        "requester_email",
        "entity_status",
    ]
    for right in ("erasure", "access", "rectification", "portability", "restriction", "objection"):
        html = client.get(f"/requests/new/data-subject/{right}/").content.decode()
        assert visible_inputs(html) == [
            "acting_for",
            "requester_email",
            "account_email",
            "agent_authority",
            "details",
        ], right


def test_dpa_form_states_the_promise_and_limits_every_field(client):
    html = client.get(DPA_URL).content.decode()
    assert "We return the countersigned DPA within 5 business days." in html
    assert re.search(rf'<input type="text" name="legal_entity"[^>]*maxlength="{NAME_MAX}"', html)
    assert re.search(r'<input type="email" name="account_email"[^>]*maxlength="254"', html)
    assert re.search(rf'<textarea name="notes"[^>]*maxlength="{DETAILS_MAX}"', html)


def test_each_render_carries_a_fresh_submission_token(client):
    first = re.search(r'name="submission_token" value="([^"]+)"', client.get(DPA_URL).content.decode())
    second = re.search(r'name="submission_token" value="([^"]+)"', client.get(DPA_URL).content.decode())
    assert first and second and first.group(1) != second.group(1)
    assert len(first.group(1)) == 43


def test_index_lists_every_kind(client):
    html = client.get("/requests/").content.decode()
    for href in (
        DPA_URL,
        BAA_URL,
        *(
            f"/requests/new/data-subject/{r}/"
            for r in (
                "erasure",
                "access",
                "rectification",
                "portability",
                "restriction",
                "objection",
            )
        ),
    ):
        assert f'href="{href}"' in html


def test_trust_page_links_to_the_forms(client, seeded):
    publication_publish_initial(actor=system_actor())
    html = client.get("/").content.decode()
    assert '<a class="button button-secondary" href="/requests/new/dpa/">Request a countersigned DPA</a>' in html
    assert '<a href="/requests/new/baa/">Request a BAA</a>' in html
    assert 'href="/requests/#data-rights">Exercise your data rights</a>' in html
    assert 'href="/requests/new/data-subject/erasure/">Delete my account and data</a>' in html


def test_dpa_submission_without_a_holiday_calendar_counts_weekends_only(client, settings, clock):
    settings.HOLIDAY_COUNTRY = "none"
    clock.set(datetime(2026, 6, 29, 10, 0, tzinfo=UTC))  # the Monday before Independence Day

    response = post_form(client, DPA_URL, DPA_ANSWERS)

    assert (response.status_code, response["Location"]) == (302, "/requests/submitted/")
    assert Ticket.objects.get().due_at == datetime(2026, 7, 6, 23, 59, 59, 999999, tzinfo=UTC)


def test_dpa_submission_redirects_to_confirmation_with_reference(client):
    response = post_form(client, DPA_URL, DPA_ANSWERS)
    assert response.status_code == 302
    assert response["Location"] == "/requests/submitted/"

    ticket = Ticket.objects.get()
    assert ticket.kind == "dpa"
    assert ticket.status == "open"
    assert (ticket.legal_entity, ticket.account_email, ticket.requester_name, ticket.requester_email) == (
        "Example GmbH",
        "admin@example.com",
        "Dana Example",
        "dana@example.com",
    )
    assert ticket.details == "Please address it to our legal team."
    assert ticket.submitted_ip == "127.0.0.1"
    assert re.fullmatch(r"DPA-\d{4}-\d{6}", ticket.reference)

    page = client.get("/requests/submitted/")
    assert page.status_code == 200
    assert reference_in(page.content.decode()) == ticket.reference
    assert "no-store" in page["Cache-Control"]
    # The acknowledgment goes to the requester with the private status link,
    # which the sender fills in (the outbox row stores a placeholder only).
    ack = OutboxMail.objects.get(ticket=ticket, to="dana@example.com")
    assert ack.template == "ticket_received"
    assert STATUS_URL in ack.body_text
    link = status_url(selectors.ticket_status_token(ticket))
    assert link.startswith(f"{settings.SITE_URL}/requests/status/")
    status_page = Client().get(link.removeprefix(settings.SITE_URL))
    assert status_page.status_code == 200
    assert ticket.reference in status_page.content.decode()


def test_confirmation_is_not_reachable_from_another_browser(client):
    post_form(client, DPA_URL, DPA_ANSWERS)
    reference = Ticket.objects.get().reference
    other = Client().get("/requests/submitted/")
    assert other.status_code == 404
    assert reference not in other.content.decode()
    assert "Nothing to show" in other.content.decode()


def test_baa_submission_keeps_entity_status(client):
    post_form(client, BAA_URL, BAA_ANSWERS)
    ticket = Ticket.objects.get()
    assert ticket.kind == "baa"
    assert ticket.form_data == {"entity_status": "covered_entity"}
    assert ticket.reference.startswith("BAA-")


def test_erasure_takes_its_kind_from_the_url_and_awaits_verification(client):
    response = post_form(client, ERASURE_URL, {**DSR_ANSWERS, "account_email": "login@example.org"})
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.kind, ticket.status) == ("dsr_erasure", "awaiting_verification")
    assert (ticket.requester_email, ticket.account_email) == ("sam@example.org", "login@example.org")
    html = client.get("/requests/submitted/").content.decode()
    assert reference_in(html) == ticket.reference
    assert "We have sent a confirmation link to the email address of the account concerned." in html
    # The identity check goes to the account's address, not to the one typed in.
    assert OutboxMail.objects.filter(ticket=ticket, to="login@example.org", template__contains="verif").count() == 1


def test_data_subject_request_asks_no_name_and_mail_greets_without_one(client):
    post_form(client, ERASURE_URL, DSR_ANSWERS)

    ticket = Ticket.objects.get()
    assert ticket.requester_name == ""
    ack = OutboxMail.objects.get(ticket=ticket, to="sam@example.org", template="ticket_received")
    assert ack.body_text.startswith("Hello,\n")


def test_same_account_address_is_not_stored_twice(client):
    post_form(client, ERASURE_URL, {**DSR_ANSWERS, "account_email": "SAM@example.org"})
    assert Ticket.objects.get().account_email == ""


def test_unknown_right_is_404(client):
    assert client.get("/requests/new/data-subject/forgetfulness/").status_code == 404
    assert Ticket.objects.count() == 0


def test_rectification_needs_details(client):
    response = post_form(client, "/requests/new/data-subject/rectification/", DSR_ANSWERS)
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert Ticket.objects.count() == 0


def test_double_post_makes_one_ticket_and_shows_the_same_reference(client):
    token = "t" * 43
    first = post_form(client, DPA_URL, DPA_ANSWERS, token=token)
    first_ref = reference_in(client.get("/requests/submitted/").content.decode())
    # A second browser tab or a retried request without the session sees it too.
    other = Client()
    second = post_form(other, DPA_URL, DPA_ANSWERS, token=token)
    assert first.status_code == second.status_code == 302
    assert Ticket.objects.count() == 1
    assert reference_in(other.get("/requests/submitted/").content.decode()) == first_ref
    assert OutboxMail.objects.filter(to="dana@example.com").count() == 1


def test_errors_are_explained_and_input_is_kept(client):
    answers = {**DPA_ANSWERS, "requester_email": "not-an-address", "legal_entity": ""}
    response = post_form(client, DPA_URL, answers)
    html = response.content.decode()
    assert response.status_code == 400
    assert Ticket.objects.count() == 0
    # Summary at the top, each entry linked to its field.
    assert 'id="error-summary"' in html
    assert '<a href="#id_requester_email">Your email: Enter a valid email address.</a>' in html
    assert '<a href="#id_legal_entity">Legal entity name: This field is required.</a>' in html
    # The field says it is invalid and points at its message; input is kept.
    assert re.search(
        r'<input type="email" name="requester_email" value="not-an-address"[^>]*'
        r'aria-invalid="true" aria-describedby="id_requester_email_helptext id_requester_email_error"',
        html,
    )
    assert '<ul class="errorlist" id="id_requester_email_error"><li>Enter a valid email address.</li></ul>' in html
    assert 'value="Dana Example"' in html
    assert "\nPlease address it to our legal team.</textarea>" in html
    assert "<title>Error: Request a countersigned DPA" in html


def test_details_over_the_limit_are_refused_and_kept(client):
    long_text = "x" * (DETAILS_MAX + 1)
    response = post_form(client, "/requests/new/data-subject/access/", {**DSR_ANSWERS, "details": long_text})
    html = response.content.decode()
    assert response.status_code == 400
    assert f"Ensure this value has at most {DETAILS_MAX} characters (it has {DETAILS_MAX + 1})." in html
    assert long_text in html
    assert Ticket.objects.count() == 0


def test_name_over_the_limit_is_refused(client):
    response = post_form(client, DPA_URL, {**DPA_ANSWERS, "requester_name": "n" * (NAME_MAX + 1)})
    assert response.status_code == 400
    assert f"at most {NAME_MAX} characters" in response.content.decode()
    assert Ticket.objects.count() == 0


def test_oversized_body_is_refused_with_413(client, settings):
    settings.REQUEST_FORM_MAX_BODY = 2000
    response = post_form(client, "/requests/new/data-subject/access/", {**DSR_ANSWERS, "details": "y" * 3000})
    assert response.status_code == 413
    assert "<h1>This form is too large</h1>" in response.content.decode()
    assert response["Connection"] == "close"
    assert Ticket.objects.count() == 0


def test_filled_honeypot_is_refused_openly_and_creates_nothing(client):
    data = {**DPA_ANSWERS, "submission_token": "h" * 43, "website": "http://spam.example"}
    response = client.post(DPA_URL, data)
    html = response.content.decode()
    assert response.status_code == 400
    assert Ticket.objects.count() == 0
    assert OutboxMail.objects.count() == 0
    assert "Please leave this field empty; it helps us tell people from automated spam." in html
    # Shown to the person so they can fix it, with their other answers kept.
    assert 'class="field honeypot honeypot-shown field-error"' in html
    assert 'value="Example GmbH"' in html


def test_missing_submission_token_is_explained(client):
    data = {**DPA_ANSWERS, "website": ""}
    response = client.post(DPA_URL, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "This form has expired. Please submit it again." in html
    assert Ticket.objects.count() == 0
    # A fresh token comes with the page, so sending it again works.
    fresh = re.search(r'name="submission_token" value="([A-Za-z0-9_-]{43})"', html).group(1)
    assert post_form(client, DPA_URL, DPA_ANSWERS, token=fresh).status_code == 302
    assert Ticket.objects.count() == 1


def test_csrf_is_enforced(seeded):
    csrf_client = Client(enforce_csrf_checks=True)
    response = post_form(csrf_client, DPA_URL, DPA_ANSWERS)
    assert response.status_code == 403
    assert Ticket.objects.count() == 0


def test_form_page_has_no_inline_script_or_style(client):
    for url in (DPA_URL, BAA_URL, ERASURE_URL, "/requests/"):
        html = client.get(url).content.decode()
        assert "<script" not in html
        assert "style=" not in html
        assert "<style" not in html


@pytest.mark.parametrize("form_class", [DpaRequestForm, BaaRequestForm, DataSubjectRequestForm])
def test_every_text_field_has_a_maximum_length(form_class):
    kwargs = {"right": DATA_RIGHTS[0]} if form_class is DataSubjectRequestForm else {}
    form = form_class(**kwargs)
    for name, field in form.fields.items():
        if isinstance(field, forms.ChoiceField):
            continue  # only its listed values pass
        assert field.max_length is not None and field.max_length <= DETAILS_MAX, name
