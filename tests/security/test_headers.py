"""Security headers on every response, and the session and CSRF cookies."""

import re
from datetime import timedelta
from html.parser import HTMLParser

from django.contrib.sessions.models import Session
from django.utils import timezone

from compliance.models import Certification
from tests.security.conftest import PASSWORD
from tests.security.fuzz import ROUTE_CONVERTER, public_routes


def csp(response) -> dict[str, list[str]]:
    policy = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        policy[name] = values
    return policy


EXPECTED_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "style-src-attr": ["'unsafe-hashes'", "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


# Every feature a browser gates behind a permission that the site never uses.
DENIED_FEATURES = {
    "accelerometer",
    "ambient-light-sensor",
    "autoplay",
    "bluetooth",
    "browsing-topics",
    "camera",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "hid",
    "identity-credentials-get",
    "idle-detection",
    "interest-cohort",
    "local-fonts",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-create",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "web-share",
    "xr-spatial-tracking",
}


def permissions_policy(response) -> dict[str, str]:
    policy = {}
    for part in response["Permissions-Policy"].split(","):
        name, _, allow = part.strip().partition("=")
        policy[name] = allow
    return policy


def assert_security_headers(response) -> None:
    assert csp(response) == EXPECTED_CSP
    assert permissions_policy(response) == {feature: "()" for feature in DENIED_FEATURES}
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_public_page_headers(client, seeded):
    response = client.get("/")
    assert response.status_code == 200
    assert_security_headers(response)


def test_admin_pages_headers(editor_client, seeded):
    cert = Certification.objects.order_by("pk").first()
    for url in (
        "/admin/",
        "/admin/compliance/certification/",
        f"/admin/compliance/certification/{cert.pk}/change/",
        f"/admin/compliance/certification/{cert.pk}/history/",
    ):
        response = editor_client.get(url)
        assert response.status_code == 200, url
        assert_security_headers(response)


def test_login_and_error_pages_headers(client, db):
    login = client.get("/admin/login/")
    assert login.status_code == 200
    assert_security_headers(login)
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert_security_headers(missing)
    assert_security_headers(client.get("/healthz"))


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        self.problems += [f"{tag}[{name}]" for name in names if name.startswith("on")]
        if "style" in names:
            self.problems.append(f"{tag}[style]")
        if tag == "style":
            self.problems.append("<style>")
        if tag == "script":
            kind = dict(attrs).get("type") or ""
            if "src" not in names and kind not in ("application/json", "application/ld+json"):
                self.problems.append("inline <script>")
        for name, value in attrs:
            if name in ("href", "src", "action") and value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"{tag}[{name}=javascript:]")


def test_public_html_has_nothing_inline_the_policy_would_block(client, seeded):
    """Every public page without parameters, the 404 page and the admin login."""
    urls = ["/" + route for route in public_routes() if not ROUTE_CONVERTER.search(route)]
    problems = []
    for url in [*urls, "/no-such-page/", "/admin/login/"]:
        response = client.get(url)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        assert "Content-Security-Policy" in response, url
        finder = _InlineFinder()
        finder.feed(response.content.decode())
        problems += [f"{url}: {problem}" for problem in finder.problems]
    assert problems == []


def test_session_and_csrf_cookies(client, make_staff, seeded):
    make_staff("cora", "Compliance editor")
    page = client.get("/admin/login/")
    csrf = page.cookies["csrftoken"]
    assert csrf["httponly"] is True
    assert csrf["samesite"] == "Lax"
    response = client.post("/admin/login/", {"username": "cora", "password": PASSWORD})
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    assert session["max-age"] == 1800


def test_session_expires_after_idle_time_and_each_request_extends_it(client, make_staff, seeded):
    client.force_login(make_staff("cora", "Compliance editor"))
    key = client.session.session_key
    old = timezone.now() + timedelta(minutes=5)
    Session.objects.filter(session_key=key).update(expire_date=old)

    response = client.get("/admin/")
    assert response.status_code == 200
    assert response.cookies["sessionid"]["max-age"] == 1800
    extended = Session.objects.get(session_key=key).expire_date
    assert timedelta(minutes=29) < extended - timezone.now() <= timedelta(minutes=30)

    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = client.get("/admin/")
    assert expired.status_code == 302
    assert expired["Location"] == "/admin/login/?next=/admin/"


def test_permissions_policy_on_every_kind_of_response(client, published, settings):
    """Pages, formats, redirects, refusals made by middleware (413) and by the
    sign-in lockout (429), and static files all deny the unused features."""
    settings.MAX_REQUEST_BODY_BYTES = 10
    settings.AXES_FAILURE_LIMIT = 1
    responses = {
        "page": client.get("/"),
        "json": client.get("/trust.json"),
        "security.txt": client.get("/.well-known/security.txt"),
        "redirect": client.get("/security.txt"),
        "not found": client.get("/no-such-page/"),
        "too large": client.post("/requests/new/dpa/", {"x": "y" * 100}),
        "admin redirect": client.get("/admin/"),
    }
    settings.MAX_REQUEST_BODY_BYTES = 25 * 1024 * 1024
    client.post("/admin/login/", {"username": "nobody", "password": "wrong-password-1"})
    responses["locked out"] = client.post("/admin/login/", {"username": "nobody", "password": "wrong-password-1"})
    statuses = {name: response.status_code for name, response in responses.items()}
    assert statuses == {
        "page": 200,
        "json": 200,
        "security.txt": 200,
        "redirect": 301,
        "not found": 404,
        "too large": 413,
        "admin redirect": 302,
        "locked out": 429,
    }
    for name, response in responses.items():
        assert permissions_policy(response) == {feature: "()" for feature in DENIED_FEATURES}, name
    header = responses["page"]["Permissions-Policy"]
    assert "camera=()" in header and "geolocation=()" in header and "interest-cohort=()" in header


def test_csp_never_allows_inline_or_eval_scripts():
    from django.conf import settings

    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    for name in ("default-src", "script-src", "script-src-elem", "script-src-attr"):
        for value in directives.get(name) or []:
            assert not re.search(r"unsafe-(inline|eval|hashes)", value), (name, value)
