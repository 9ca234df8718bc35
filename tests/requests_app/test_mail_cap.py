"""The daily cap of public-form mail per mailbox, across the request and subscription forms."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from core.enums import MailStatus
from core.models import OutboxMail
from core.outbox import outbox_send_due
from requests_app.models import Ticket
from requests_app.selectors import ticket_mail_withheld
from requests_app.services import ticket_add_message

from .helpers import DPA_ANSWERS, fresh_rate_limits, post_form, reference_in  # noqa: F401

pytestmark = pytest.mark.django_db

DPA_URL = "/requests/new/dpa/"
VICTIM = ["victim+s1@example.com", "Victim@Example.com", "VICTIM+s3@example.com"]
VICTIM_DPA = ["victim+d1@example.com", "victim@EXAMPLE.com", "Victim+d3@Example.com"]


@pytest.fixture(autouse=True)
def _cap(settings):
    settings.PUBLIC_MAIL_PER_ADDRESS_PER_DAY = 5


def to_victim() -> list[tuple[str, str, str]]:
    """(template, address, status) of every mail to any variant of the victim's mailbox, in order."""
    rows = OutboxMail.objects.filter(to__iregex=r"^victim(\+[a-z0-9]+)?@example\.com$").order_by("id")
    return list(rows.values_list("template", "to", "status"))


def dpa_for(email: str, n: int) -> dict:
    return {**DPA_ANSWERS, "requester_email": email, "account_email": f"account{n}@example.net"}


def test_three_subscriptions_and_three_requests_to_one_mailbox_send_five_mails(clock):
    for n, email in enumerate(VICTIM):
        response = Client(REMOTE_ADDR=f"198.51.100.{n}").post("/subscribe/", {"email": email, "scope": "all"})
        assert (response.status_code, response["Location"]) == (302, "/subscribe/sent/")
    answers = []
    for n, email in enumerate(VICTIM_DPA):
        client = Client(REMOTE_ADDR=f"203.0.113.{n}")
        response = post_form(client, DPA_URL, dpa_for(email, n))
        page = client.get(response["Location"])
        html = page.content.decode()
        templates = [t.name for t in page.templates]
        answers.append(
            (
                response.status_code,
                response["Location"],
                page.status_code,
                templates,
                html.replace(reference_in(html), "REF"),
            )
        )

    # The sixth submission is answered exactly as the fifth: same redirect, same page.
    assert answers[2] == answers[1]
    assert answers[2][:3] == (302, "/requests/submitted/", 200)
    assert to_victim() == [
        ("subscription_confirm", "victim+s1@example.com", MailStatus.QUEUED),
        ("subscription_confirm", "victim@example.com", MailStatus.QUEUED),
        ("subscription_confirm", "victim+s3@example.com", MailStatus.QUEUED),
        ("ticket_received", "victim+d1@example.com", MailStatus.QUEUED),
        ("ticket_received", "victim@example.com", MailStatus.QUEUED),
        ("ticket_received", "victim+d3@example.com", MailStatus.WITHHELD),
    ]
    # The ticket is made all the same; its deadline runs and staff hear of it.
    ticket = Ticket.objects.get(requester_email="victim+d3@example.com")
    assert ticket.due_at == ticket.original_due_at is not None
    assert ticket_mail_withheld(ticket) is True
    assert list(ticket.mails.values_list("template", "to", "status")) == [
        ("ticket_received", "victim+d3@example.com", MailStatus.WITHHELD),
        ("staff_new_ticket", "queue@example.com", MailStatus.QUEUED),
    ]

    outbox_send_due()
    victim_inbox = [m.to[0] for m in mail.outbox if m.to[0] != "queue@example.com"]
    assert victim_inbox == [
        "victim+s1@example.com",
        "victim@example.com",
        "victim+s3@example.com",
        "victim+d1@example.com",
        "victim@example.com",
    ]


def test_a_data_subject_request_counts_its_acknowledgment_and_its_verification_link(settings, clock):
    settings.PUBLIC_MAIL_PER_ADDRESS_PER_DAY = 3
    url = "/requests/new/data-subject/access/"
    for n in range(2):
        answers = {"requester_email": f"victim+{n}@example.com", "account_email": "", "details": "My data please."}
        assert post_form(Client(REMOTE_ADDR=f"203.0.113.{n}"), url, answers).status_code == 302
    assert [(template, status) for template, _, status in to_victim()] == [
        ("ticket_received", MailStatus.QUEUED),
        ("verify_identity", MailStatus.QUEUED),
        ("ticket_received", MailStatus.QUEUED),
        ("verify_identity", MailStatus.WITHHELD),
    ]


def test_mail_staff_cause_is_not_capped(handler, settings, clock):
    settings.REQUEST_RATE_PER_EMAIL = "100/h"
    for n, email in enumerate(["victim@example.com"] * 3 + ["victim+x@example.com"] * 3):
        post_form(Client(REMOTE_ADDR=f"203.0.113.{n}"), DPA_URL, dpa_for(email, n))
    ticket = Ticket.objects.order_by("id").last()

    ticket_add_message(ticket_id=ticket.pk, message="Could you call us?", actor=handler)

    assert to_victim()[-2:] == [
        ("ticket_received", "victim+x@example.com", MailStatus.WITHHELD),
        ("ticket_message", "victim+x@example.com", MailStatus.QUEUED),
    ]


def test_the_ticket_page_tells_the_handler_a_mail_was_withheld(handler_client, settings, clock):
    settings.PUBLIC_MAIL_PER_ADDRESS_PER_DAY = 1
    for n in range(2):
        post_form(Client(REMOTE_ADDR=f"203.0.113.{n}"), DPA_URL, dpa_for("victim@example.com", n))
    sent, withheld = Ticket.objects.order_by("id")
    url = reverse("admin:requests_app_ticket_change", args=[withheld.pk])

    html = handler_client.get(url).content.decode()
    other = handler_client.get(reverse("admin:requests_app_ticket_change", args=[sent.pk])).content.decode()

    assert (
        "Mail withheld: this address reached its daily limit of 1 mail\n  from public forms, so at least one mail "
        "to the requester was not sent"
    ) in html
    assert "Contact the requester another way if needed." in html
    assert "Mail withheld" not in other
    # The mails of the ticket, with their status, on its page.
    assert mail_statuses(html) == ["Withheld", "Queued"]
    assert mail_statuses(other) == ["Queued", "Queued"]


def mail_statuses(html: str) -> list[str]:
    mails = html[html.index('id="mails-group"') :]
    return re.findall(r'<td class="field-status">\s*<p>(\w+)</p>', mails)
