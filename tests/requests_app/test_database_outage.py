"""While the database is unavailable: 503 with Retry-After instead of 500, and a
submitter whose ticket was committed still sees its reference.

The outage is simulated by making every query raise what psycopg raises when
the server is restarting; the real restart is `make outage` (bench/outage.py).
"""

import pytest
from django.core import signing
from django.db import InterfaceError, OperationalError
from django.db.backends.utils import CursorWrapper
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from core.models import OutboxMail
from requests_app.models import Ticket
from requests_app.views import SUBMITTED_COOKIE
from trustcenter import views as trust_views
from trustcenter.urls import handler403, handler500  # noqa: F401 (the project's error views for this URLconf)
from trustcenter.urls import urlpatterns as project_urlpatterns

from .helpers import DPA_ANSWERS, fresh_rate_limits, post_form, reference_in  # noqa: F401

pytestmark = pytest.mark.django_db

DPA_URL = "/requests/new/dpa/"


def touch_session(request: HttpRequest) -> HttpResponse:
    request.session["seen"] = True  # saved by SessionMiddleware after the view
    return HttpResponse("ok")


urlpatterns = [path("session-touch", touch_session), *project_urlpatterns]


@pytest.fixture
def database_down(monkeypatch):
    """Every query from here on fails as during a PostgreSQL restart."""
    trust_views._unavailable_page.cache_clear()  # so that the 503 page, too, renders without the database

    def refuse(self, sql, params=None):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    monkeypatch.setattr(CursorWrapper, "executemany", refuse)
    return monkeypatch


def assert_unavailable(response, retry_after: str = "5") -> None:
    body = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == retry_after
    assert response["Cache-Control"] == "no-store"
    assert '<h1 id="error-title">Temporarily unavailable</h1>' in body
    assert "administrator command" not in body and "Traceback" not in body
    assert '<span class="brand-name">Trust center</span>' in body  # the layout without the published name


@pytest.mark.parametrize("url", ["/requests/", DPA_URL])
def test_a_page_whose_query_fails_answers_503_with_retry_after(client, database_down, url):
    assert_unavailable(client.get(url))


def test_the_liveness_probe_answers_while_the_database_is_down(client, database_down):
    # /healthz touches nothing but the process (readiness is /readyz).
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_interface_error_of_a_closed_connection_is_503_too(client, database_down, settings):
    settings.DATABASE_UNAVAILABLE_RETRY_AFTER = 12

    def closed(self, sql, params=None):
        raise InterfaceError("the connection is closed")

    database_down.setattr(CursorWrapper, "execute", closed)
    assert_unavailable(client.get("/requests/"), retry_after="12")


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    "error,status",
    [(OperationalError("the database system is shutting down"), 503), (ValueError("a bug, not an outage"), 500)],
)
def test_a_session_that_cannot_be_saved_after_the_view_answers_503_only_for_an_outage(
    client, monkeypatch, error, status
):
    from django.contrib.sessions.backends.db import SessionStore

    def refuse(self, must_create=False):
        raise error

    monkeypatch.setattr(SessionStore, "save", refuse)
    client.raise_request_exception = False
    response = client.get("/session-touch")
    if status == 503:
        assert_unavailable(response)
    else:
        assert response.status_code == 500
        assert not response.has_header("Retry-After")
        assert '<h1 id="error-title">Something went wrong</h1>' in response.content.decode()


def test_a_form_sent_while_the_database_is_down_files_nothing(client, database_down):
    form_token = "d" * 43
    assert_unavailable(post_form(client, DPA_URL, DPA_ANSWERS, token=form_token))
    database_down.undo()
    assert (Ticket.objects.count(), OutboxMail.objects.count()) == (0, 0)
    # Sent again once the database is back, it is filed once.
    assert post_form(client, DPA_URL, DPA_ANSWERS, token=form_token).status_code == 302
    assert Ticket.objects.count() == 1


def test_confirmation_page_shows_the_reference_while_the_database_is_down(client, database_down):
    database_down.undo()
    response = post_form(client, DPA_URL, DPA_ANSWERS)
    assert (response.status_code, response["Location"]) == (302, "/requests/submitted/")
    cookie = response.cookies[SUBMITTED_COOKIE]
    assert (cookie["path"], cookie["max-age"], cookie["httponly"], cookie["samesite"]) == (
        "/requests/submitted/",
        3600,
        True,
        "Lax",
    )
    reference = Ticket.objects.get().reference
    assert reference not in response["Location"]

    database_down.setattr(CursorWrapper, "execute", _refuse_query)
    page = client.get("/requests/submitted/")
    assert page.status_code == 200
    assert reference_in(page.content.decode()) == reference
    assert '<span class="brand-name">Trust center</span>' in page.content.decode()
    assert page["Cache-Control"] == "no-store"


def _refuse_query(self, sql, params=None):
    raise OperationalError("connection refused")


def test_confirmation_needs_no_query_and_no_session(client, django_assert_num_queries):
    post_form(client, DPA_URL, DPA_ANSWERS)
    reference = Ticket.objects.get().reference
    assert "sessionid" not in client.cookies
    with django_assert_num_queries(1):  # the published name in the header, nothing else
        page = client.get("/requests/submitted/")
    assert reference_in(page.content.decode()) == reference


def test_a_forged_or_foreign_confirmation_cookie_shows_nothing(client):
    post_form(client, DPA_URL, DPA_ANSWERS)
    reference = Ticket.objects.get().reference
    stolen = client.cookies[SUBMITTED_COOKIE].value
    forged = signing.dumps({"reference": "DPA-2026-999999", "kind": "dpa", "needs_verification": False}, salt="x")
    for value in (forged, stolen[:-2] + "xx", "not-signed"):
        other = Client()
        other.cookies[SUBMITTED_COOKIE] = value
        page = other.get("/requests/submitted/")
        assert page.status_code == 404
        assert "Nothing to show" in page.content.decode()
        assert reference not in page.content.decode() and "DPA-2026-999999" not in page.content.decode()


def test_a_retry_after_a_failed_answer_returns_the_committed_ticket_once(client, monkeypatch):
    """The ticket was committed, then answering failed (the database went away
    between the commit and the answer): the submitter got a 503 and sends the
    same form again; the retry finds the ticket by its submission token."""
    from requests_app import views

    answered = views.confirm_submission

    def fail_once(request, ticket):
        monkeypatch.setattr(views, "confirm_submission", answered)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(views, "confirm_submission", fail_once)
    form_token = "r" * 43
    assert_unavailable(post_form(client, DPA_URL, DPA_ANSWERS, token=form_token))
    ticket = Ticket.objects.get()
    mails = OutboxMail.objects.count()

    retry = post_form(client, DPA_URL, DPA_ANSWERS, token=form_token)
    assert retry.status_code == 302
    assert reference_in(client.get("/requests/submitted/").content.decode()) == ticket.reference
    assert Ticket.objects.count() == 1
    assert OutboxMail.objects.count() == mails == 2  # acknowledgment and staff notice, once
