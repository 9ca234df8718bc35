"""Builders for the documents tests."""

import itertools
import re

from django.core import mail

from documents import services
from requests_app.enums import TicketStatus
from requests_app.outbox import outbox_send_due
from requests_app.services import ticket_transition

_tokens = itertools.count(1)
REQUESTER = {"requester_name": "Wendy Work", "requester_email": "wendy@acme.example", "legal_entity": "Acme Inc."}


def ask(slug: str = "soc2-report", *, nda, ip: str = "198.51.100.7", **data):
    return services.access_request_submit(
        document_slug=slug,
        data={**REQUESTER, **data},
        nda_version_id=nda.pk,
        submission_token=f"access-token-{next(_tokens):08d}-abcdef",
        ip=ip,
        user_agent="TestBrowser/1.0",
    )


def approve(ticket, actor):
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=actor)
    return ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=actor, reason="ok")


def mailed_download_path(to: str = "wendy@acme.example") -> str:
    outbox_send_due()
    for message in reversed(mail.outbox):
        if message.to == [to]:
            found = re.search(
                r"https://trust\.example\.com(/documents/[a-z0-9-]+/download/[A-Za-z0-9_-]+/)", str(message.body)
            )
            if found:
                return found.group(1)
    raise AssertionError("no download link was mailed")
