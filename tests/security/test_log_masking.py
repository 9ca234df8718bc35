"""Secret link tokens never appear in a log record, whatever the answer was."""

import logging
import secrets
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone

from requests_app.models import VerificationToken
from tests.requests_app.helpers import submit, verification_link_token
from trustcenter.logmask import MASK, MaskSecrets, mask

pytestmark = pytest.mark.django_db


def unknown_token() -> str:
    return secrets.token_urlsafe(32)


def record_texts(record: logging.LogRecord) -> list[str]:
    """Everything a handler could write from a record."""
    formatter = logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])
    texts = [record.getMessage(), str(record.msg), repr(record.args), formatter.format(record)]
    texts += [record.exc_text or "", record.stack_info or ""]
    return texts


def assert_not_logged(records: list[logging.LogRecord], secrets_: list[str]) -> None:
    leaks = [(record.name, text) for record in records for text in record_texts(record) for s in secrets_ if s in text]
    assert leaks == []


def test_bad_expired_and_unknown_links_are_logged_without_their_tokens(caplog, seeded, clock):
    caplog.set_level(logging.DEBUG)  # the root logger, as any handler sees it
    _, status_token = submit("dpa")
    dsr, _ = submit("dsr_access", account_email="sam@example.org")
    verify_token = verification_link_token(dsr)
    expired, _ = submit("dsr_erasure", requester_email="eve@example.org", account_email="eve@example.org")
    expired_token = verification_link_token(expired)
    VerificationToken.objects.filter(ticket=expired).update(expires_at=timezone.now() - timedelta(days=1))
    tokens = {
        "status": status_token,
        "verify": verify_token,
        "expired": expired_token,
        "unknown status": unknown_token(),
        "download": unknown_token(),
        "confirm": unknown_token(),
        "unsubscribe": unknown_token(),
        "query": unknown_token(),
    }
    urls = {
        "status": f"/requests/status/{tokens['status']}/",
        "reply": f"/requests/status/{tokens['status']}/reply/",
        "file": f"/requests/status/{tokens['status']}/files/1/",
        "verify": f"/requests/verify/{tokens['verify']}/",
        "expired": f"/requests/verify/{tokens['expired']}/",
        "unknown status": f"/requests/status/{tokens['unknown status']}/",
        "download": f"/documents/soc2-report/download/{tokens['download']}/",
        "confirm": f"/subscribe/confirm/{tokens['confirm']}/",
        "unsubscribe": f"/subscribe/unsubscribe/{tokens['unsubscribe']}/",
        "query": f"/no-such-page/?token={tokens['query']}",
    }
    client = Client()
    strict = Client(enforce_csrf_checks=True)
    statuses = {}
    for name, url in urls.items():
        statuses[f"GET {name}"] = client.get(url).status_code
        statuses[f"bad host {name}"] = client.get(url, HTTP_HOST="evil.invalid").status_code
    statuses["POST reply without CSRF"] = strict.post(urls["reply"], {"message": "hi"}).status_code
    statuses["POST verify without CSRF"] = strict.post(urls["verify"]).status_code
    statuses["POST confirm without CSRF"] = strict.post(urls["confirm"]).status_code
    statuses["POST expired"] = client.post(urls["expired"]).status_code
    statuses["POST unsubscribe"] = client.post(urls["unsubscribe"]).status_code
    statuses["bad length download"] = client.generic(
        "GET", urls["download"], CONTENT_LENGTH="-1", content_type="text/plain"
    ).status_code

    assert statuses == {
        "GET status": 200,
        "bad host status": 400,
        "GET reply": 405,
        "bad host reply": 400,
        "GET file": 404,
        "bad host file": 400,
        "GET verify": 200,
        "bad host verify": 400,
        "GET expired": 404,
        "bad host expired": 400,
        "GET unknown status": 404,
        "bad host unknown status": 400,
        "GET download": 404,
        "bad host download": 400,
        "GET confirm": 404,
        "bad host confirm": 400,
        "GET unsubscribe": 404,
        "bad host unsubscribe": 400,
        "GET query": 404,
        "bad host query": 400,
        "POST reply without CSRF": 403,
        "POST verify without CSRF": 403,
        "POST confirm without CSRF": 403,
        "POST expired": 404,
        "POST unsubscribe": 404,
        "bad length download": 400,
    }
    assert_not_logged(caplog.records, list(tokens.values()))
    # The refusals were logged, with the secret masked and the rest kept.
    logged = {r.getMessage() for r in caplog.records if r.name == "django.request"}
    assert {
        f"Not Found: /requests/status/{MASK}/",
        f"Not Found: /requests/verify/{MASK}/",
        f"Not Found: /documents/soc2-report/download/{MASK}/",
        f"Not Found: /subscribe/unsubscribe/{MASK}/",
        f"Not Found: /requests/status/{MASK}/files/1/",
        f"Bad Request: /documents/soc2-report/download/{MASK}/",
        f"Method Not Allowed (GET): /requests/status/{MASK}/reply/",
    } <= logged
    csrf = {r.getMessage() for r in caplog.records if r.name == "django.security.csrf"}
    assert csrf == {
        f"Forbidden (CSRF cookie not set.): /requests/status/{MASK}/reply/",
        f"Forbidden (CSRF cookie not set.): /requests/verify/{MASK}/",
        f"Forbidden (CSRF cookie not set.): /subscribe/confirm/{MASK}/",
    }


def test_development_server_and_access_log_lines_are_masked(caplog):
    token = unknown_token()
    caplog.set_level(logging.INFO)
    # As django.core.servers.basehttp writes its request line.
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /requests/status/{token}/ HTTP/1.1", "404", "1234")
    # As gunicorn writes an access line: a format and a dict of atoms.
    atoms = {
        "h": "198.51.100.7",
        "r": f"GET /subscribe/unsubscribe/{token}/ HTTP/1.1",
        "U": f"/subscribe/unsubscribe/{token}/",
        "f": f"https://trust.example.com/requests/verify/{token}/?x=1",
        "s": 404,
    }
    logging.getLogger("gunicorn.access").info('%(h)s "%(r)s" %(s)s "%(f)s" %(U)s', atoms)
    try:
        raise ValueError(f"while serving /documents/soc2/download/{token}/")
    except ValueError:
        logging.getLogger("requests_app").exception("failed on %s", f"/requests/status/{token}/reply/")
        exc_info = sys.exc_info()

    assert_not_logged(caplog.records, [token])
    assert [r.getMessage() for r in caplog.records] == [
        f'"GET /requests/status/{MASK}/ HTTP/1.1" 404 1234',
        f'198.51.100.7 "GET /subscribe/unsubscribe/{MASK}/ HTTP/1.1" 404 '
        f'"https://trust.example.com/requests/verify/{MASK}/?x=1" /subscribe/unsubscribe/{MASK}/',
        f"failed on /requests/status/{MASK}/reply/",
    ]
    assert f"ValueError: while serving /documents/soc2/download/{MASK}/" in caplog.records[-1].exc_text
    # A record made without the factory is masked by the handler filter.
    bare = logging.makeLogRecord({"msg": "GET %s", "args": (f"/subscribe/confirm/{token}/",), "exc_info": exc_info})
    MaskSecrets().filter(bare)
    assert bare.getMessage() == f"GET /subscribe/confirm/{MASK}/"
    assert token not in (bare.exc_text or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/requests/status/abc_DEF-123/", f"/requests/status/{MASK}/"),
        ("/requests/status/abc/files/7/", f"/requests/status/{MASK}/files/7/"),
        ("https://x.example/requests/verify/abc?next=1", f"https://x.example/requests/verify/{MASK}?next=1"),
        ("/documents/soc2-report/download/abc/", f"/documents/soc2-report/download/{MASK}/"),
        ("/documents/soc2-report/", "/documents/soc2-report/"),
        ("/subscribe/confirm/abc", f"/subscribe/confirm/{MASK}"),
        ("/x/?Token=abc&page=2", f"/x/?Token={MASK}&page=2"),
        ("/requests/status/", "/requests/status/"),
        ("no path here", "no path here"),
    ],
)
def test_mask(text, expected):
    assert mask(text) == expected


def _token_routes(resolver: URLResolver, prefix: str = "") -> list[str]:
    routes = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            routes += _token_routes(pattern, prefix + str(pattern.pattern))
        elif "token" in getattr(pattern.pattern, "converters", {}):
            routes.append(prefix + str(pattern.pattern))
    return routes


def test_every_route_with_a_token_is_masked():
    routes = _token_routes(get_resolver())
    assert len(routes) == 8
    for route in routes:
        token = unknown_token()
        path = "/" + route.replace("<str:token>", token).replace("<slug:slug>", "a-slug").replace(
            "<int:attachment_id>", "3"
        )
        assert "<" not in path, route
        assert token not in mask(path), route
        assert mask(path) == path.replace(token, MASK), route
    assert reverse("requests_app:status", args=["t" * 20]).startswith("/requests/status/")


def test_documented_access_log_formats_leave_out_paths_and_referer():
    """The gunicorn command lines in the README and docs/security.md."""
    import re
    from pathlib import Path

    root = Path(settings.BASE_DIR)
    formats = []
    for doc in ("README.md", "docs/security.md"):
        formats += re.findall(r"--access-logformat '([^']+)'", (root / doc).read_text())
    assert len(formats) == 2
    for fmt in formats:
        atoms = set(re.findall(r"%\(([^)]+)\)s", fmt))
        assert atoms == {"h", "t", "m", "s", "b", "M", "a"}, fmt
