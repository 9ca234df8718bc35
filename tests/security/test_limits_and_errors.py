"""Request size limits, no-store responses and the error pages."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.decorators import method_decorator
from django.views import View

from tests.security.urls_errors import SECRET_DETAIL
from trustcenter.http import no_store


class ExplodingStream:
    """A request body that must never be read."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def test_body_over_the_limit_is_refused_before_it_is_read(client, db, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    response = client.post(
        "/admin/login/",
        CONTENT_LENGTH="1001",
        CONTENT_TYPE="application/octet-stream",
        **{"wsgi.input": ExplodingStream()},
    )
    assert response.status_code == 413
    assert "Request too large" in response.content.decode()
    assert response["Connection"] == "close"
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response


def test_body_at_the_limit_goes_through(client, db, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    body = "username=a&password=b&pad=" + "x" * (1000 - len("username=a&password=b&pad="))
    assert len(body) == 1000
    response = client.post("/admin/login/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert "Please enter the correct username and password" in response.content.decode()


def test_default_limits():
    from django.conf import settings

    assert settings.MAX_REQUEST_BODY_BYTES == 25 * 1024 * 1024
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 1024 * 1024
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE == 2_621_440


@pytest.mark.parametrize("declared", ["abc", "-5", "1e9"])
def test_malformed_content_length_is_a_bad_request(client, db, declared):
    response = client.post(
        "/admin/login/",
        CONTENT_LENGTH=declared,
        CONTENT_TYPE="application/octet-stream",
        **{"wsgi.input": ExplodingStream()},
    )
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()


def test_form_data_over_the_in_memory_cap_is_a_bad_request(client, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = client.post("/admin/login/", {"username": "u" * 200, "password": "p"})
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()


def test_no_store_on_function_views():
    @no_store
    def export(request):
        response = HttpResponse("private")
        response["ETag"] = '"abc"'
        response["Cache-Control"] = "max-age=3600, public"
        return response

    response = export(RequestFactory().get("/x"))
    assert response["Cache-Control"] == "no-store"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "ETag" not in response
    assert isinstance(response, HttpResponse)
    assert response.content == b"private"


def test_no_store_on_class_views():
    @method_decorator(no_store, name="dispatch")
    class Status(View):
        def get(self, request):
            return HttpResponse("status")

    response = Status.as_view()(RequestFactory().get("/s/token"))
    assert response["Cache-Control"] == "no-store"


ERRORS = [
    ("/boom/400", 400, "Bad request"),
    ("/boom/403", 403, "Access denied"),
    ("/boom/404", 404, "Page not found"),
    ("/no/such/page", 404, "Page not found"),
    ("/boom/500", 500, "Something went wrong"),
]


@pytest.mark.urls("tests.security.urls_errors")
@pytest.mark.parametrize("url,status,heading", ERRORS)
def test_error_pages_match_the_site_and_leak_nothing(client, db, url, status, heading):
    client.raise_request_exception = False
    response = client.get(url)
    body = response.content.decode()
    assert response.status_code == status
    assert f'<h1 id="error-title">{heading}</h1>' in body
    assert 'href="/static/css/trust.css"' in body
    assert "hunter2" not in body and SECRET_DETAIL not in body
    assert "Traceback" not in body and "/srv/" not in body and "no/such/page" not in body
    assert "Content-Security-Policy" in response


@pytest.mark.urls("tests.security.urls_errors")
def test_rate_limited_requests_get_429(client, db):
    pytest.importorskip("django_ratelimit")
    response = client.get("/boom/429")
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"  # a limit that reports no wait: the longest configured window
    assert '<h1 id="error-title">Too many attempts</h1>' in response.content.decode()
    assert SECRET_DETAIL not in response.content.decode()


def test_csrf_failure_page(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403
    assert '<h1 id="error-title">Form expired</h1>' in response.content.decode()
