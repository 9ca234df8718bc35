"""The ticket queue costs the same number of queries whatever the number of
tickets: first page, each filter and a search (timed at 100,000 tickets in
bench/staff_pages.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.admin_paging import CappedCountPaginator
from requests_app.enums import TicketKind, TicketStatus
from requests_app.models import Ticket
from requests_app.services import ticket_assign

from .conftest import submit
from .test_admin import CHANGELIST

# session, user, the user's permissions (user's and groups'), the assignee
# filter's staff, the bounded count, the page's rows with their assignees; and
# the session save on every request (savepoint, update, release).
PAGES: dict[str, tuple[dict[str, str], int]] = {
    "first page": ({}, 10),
    "kind": ({"kind__exact": TicketKind.DPA}, 10),
    "status": ({"status__exact": TicketStatus.OPEN}, 10),
    "assignee": ({"assignee__id__exact": "ASSIGNEE"}, 10),
    "overdue": ({"due": "overdue"}, 10),
    "unverified": ({"verification": "unverified"}, 10),
    "reference search": ({"q": "REFERENCE"}, 10),
    "email search": ({"q": "ANN@EXAMPLE.ORG"}, 10),
}


def make_tickets(n: int, handler) -> None:
    for i in range(n):
        ticket, _ = submit(TicketKind.DSR_ACCESS if i % 3 == 0 else TicketKind.DPA)
        if i % 2:
            ticket_assign(ticket_id=ticket.pk, assignee=handler, actor=handler)


def page_queries(client, params: dict[str, str], handler) -> tuple[int, int]:
    ticket = Ticket.objects.order_by("id").first()
    values = {
        key: str(handler.pk) if value == "ASSIGNEE" else ticket.reference if value == "REFERENCE" else value
        for key, value in params.items()
    }
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(CHANGELIST, values)
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["cl"].result_list)


def test_queue_pages_cost_the_same_at_5_and_50_tickets(handler_client, handler):
    make_tickets(5, handler)
    handler_client.get(CHANGELIST)  # warm per-process caches (content types)
    small = {name: page_queries(handler_client, params, handler) for name, (params, _) in PAGES.items()}
    make_tickets(45, handler)
    large = {name: page_queries(handler_client, params, handler) for name, (params, _) in PAGES.items()}

    assert {name: queries for name, (queries, _) in small.items()} == {n: q for n, (_, q) in PAGES.items()}
    assert {name: queries for name, (queries, _) in large.items()} == {n: q for n, (_, q) in PAGES.items()}
    assert small["first page"][1] == 5 and large["first page"][1] == 50
    assert (small["assignee"][1], large["assignee"][1]) == (2, 24)
    assert small["reference search"][1] == large["reference search"][1] == 1


def test_the_count_stops_at_the_cap_and_says_more_than(handler_client, handler, monkeypatch):
    make_tickets(4, handler)
    monkeypatch.setattr(CappedCountPaginator, "cap", 3)

    response = handler_client.get(CHANGELIST)

    assert response.context["cl"].result_count == 3
    assert len(response.context["cl"].result_list) == 4  # the page itself is not cut
    assert "more than 3 tickets" in response.content.decode()
    assert handler_client.get(CHANGELIST, {"kind__exact": TicketKind.DSR_ACCESS}).context["cl"].result_count == 2


def test_search_matches_whole_values_only(handler_client, handler):
    ann, _ = submit(TicketKind.DPA, requester_email="Ann.Smith@Example.com")
    listed = lambda q: [t.pk for t in handler_client.get(CHANGELIST, {"q": q}).context["cl"].result_list]  # noqa: E731

    assert listed("ann.smith@example.COM") == [ann.pk]
    assert listed(ann.reference.lower()) == [ann.pk]
    assert listed("Ann.Smith") == []
    assert listed(ann.reference[:-1]) == []


@pytest.mark.parametrize("value", ["x", "-1", "999999"])
def test_an_unknown_assignee_lists_nothing(handler_client, handler, value):
    make_tickets(2, handler)

    response = handler_client.get(CHANGELIST, {"assignee__id__exact": value})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
