"""deploy/nginx: the site and its snippets pass `nginx -t` as shipped, and the
site runs (only its ports, paths and upstream moved to the test's): HTTPS
redirect, the static export from files and the rest from the application,
the admin and /readyz private, access lines without personal data."""

import datetime as dt
import http.client
import json
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from compliance.services import publication_publish_initial, seed_load
from compliance.static_export import export_static_site
from core.history import system_actor
from tests.factories import SEED_DATA
from tests.nginx import NGINX, free_port, needs_nginx, nginx_running

pytestmark = pytest.mark.nginx

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def self_signed(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trust.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    for name_ in ("fullchain.pem", "chain.pem"):
        (folder / name_).write_bytes(pem)
    (folder / "privkey.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def test_the_site_passes_nginx_t(tmp_path):
    needs_nginx()
    self_signed(tmp_path)
    (tmp_path / "logs").mkdir()
    site = (DEPLOY / "nginx" / "trustcenter.conf").read_text()
    for old, new in {
        "/etc/letsencrypt/live/trust.example.com": str(tmp_path),
        "/etc/nginx/snippets": str(DEPLOY / "nginx"),
        "/var/log/nginx": str(tmp_path / "logs"),
        "/srv/trustcenter": str(tmp_path / "srv"),
        "listen 80;": "listen 127.0.0.1:18080;",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": "listen 127.0.0.1:18443 ssl http2;",
        "listen [::]:443 ssl http2;": "",
    }.items():
        assert old in site, old
        site = site.replace(old, new)
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\nevents {{}}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    assert "[emerg]" not in result.stderr


# --- The shipped site running: nginx in front of the application -------------


HOST = "trust.example.com"


@dataclass
class Site:
    http: int
    https: int
    export: Path
    log: Path

    def get(self, path: str, *, tls: bool = True, method: str = "GET", host: str = HOST) -> "Answer":
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.https, context=context, timeout=20
            )
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.http, timeout=20)
        try:
            connection.request(method, path, headers={"Host": host})
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def run_site(tmp_path: Path, app_port: int, *, loopback_private: bool) -> Iterator[Site]:
    """The shipped site with only its addresses moved: ports, certificate, paths,
    the upstream (the test's live server) and, when `loopback_private` is off,
    127.0.0.1 taken out of the private networks (a visitor from the internet)."""
    self_signed(tmp_path)
    prefix = tmp_path / "nginx"
    (prefix / "logs").mkdir(parents=True)
    srv = tmp_path / "srv"
    (srv / "var" / "staticfiles" / "css").mkdir(parents=True)
    (srv / "var" / "staticfiles" / "css" / "site.abc123.css").write_text("body { margin: 0 }\n")
    http_port, https_port = free_port(), free_port()
    site = (DEPLOY / "nginx" / "trustcenter.conf").read_text()
    replacements = {
        "/etc/letsencrypt/live/trust.example.com": str(tmp_path),
        "/etc/nginx/snippets": str(DEPLOY / "nginx"),
        "/var/log/nginx": str(prefix / "logs"),
        "/srv/trustcenter": str(srv),
        "server 127.0.0.1:8000 fail_timeout=0;": f"server 127.0.0.1:{app_port} fail_timeout=0;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "ssl_stapling on;": "ssl_stapling off;",  # no OCSP responder for a self-signed certificate
        "ssl_stapling_verify on;": "ssl_stapling_verify off;",
    }
    if not loopback_private:
        replacements["127.0.0.1/32    1;"] = "127.0.0.1/32    0;"
    for old, new in replacements.items():
        assert old in site, old
        site = site.replace(old, new)
    (prefix / "site.conf").write_text(site)
    with nginx_running(prefix, f"  include {prefix}/site.conf;", https_port):
        yield Site(http_port, https_port, srv / "var" / "export", prefix / "logs" / "trustcenter.access.log")


@pytest.fixture
def app_port(transactional_db, django_db_serialized_rollback, live_server, settings) -> int:
    needs_nginx()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST]
    seed_load(data=SEED_DATA, actor=system_actor())
    publication_publish_initial(actor=system_actor())
    return int(urlsplit(live_server.url).port or 0)


@pytest.fixture
def site(tmp_path, app_port) -> Iterator[Site]:
    yield from run_site(tmp_path, app_port, loopback_private=True)


@pytest.fixture
def public_site(tmp_path, app_port) -> Iterator[Site]:
    yield from run_site(tmp_path, app_port, loopback_private=False)


def test_plain_http_redirects_to_https_but_lets_probes_through(site):
    redirected = site.get("/changelog/?from=mail", tls=False)
    probe = site.get("/healthz", tls=False)

    assert (redirected.status, redirected.headers["location"]) == (301, f"https://{HOST}/changelog/?from=mail")
    assert probe.status == 200
    assert "x-request-id" in probe.headers  # answered by the application


def test_the_export_is_served_from_files_and_the_rest_from_the_application(site, client):
    export_static_site(site.export)

    page = site.get("/")
    feed = site.get("/feed.atom")
    form = site.get("/requests/new/dpa/")
    posted = site.get("/", method="POST")
    asset = site.get("/static/css/site.abc123.css")

    assert (page.status, page.body) == (200, (site.export / "index.html").read_bytes())
    assert page.body == client.get("/").content
    assert (feed.status, feed.body) == (200, client.get("/feed.atom").content)
    for from_file in (page, feed, asset):
        assert "x-request-id" not in from_file.headers  # nginx answered, not the application
        assert from_file.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
        assert from_file.headers["x-frame-options"] == "DENY"
        assert from_file.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self';")
    assert page.headers["cache-control"] == "public, max-age=60"
    assert (asset.status, asset.body) == (200, b"body { margin: 0 }\n")
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    # A form is not a file: the application answers, over the proxy.
    assert form.status == 200
    assert "x-request-id" in form.headers
    assert b'name="csrfmiddlewaretoken"' in form.body
    # A POST to a path the export holds goes to the application as a POST: its CSRF check
    # (which only unsafe methods meet) refuses it, where nginx itself would answer 405.
    assert posted.status == 403
    assert "x-request-id" in posted.headers


def test_without_an_export_every_page_comes_from_the_application(site, client):
    page = site.get("/")

    assert (page.status, page.body) == (200, client.get("/").content)
    assert "x-request-id" in page.headers


def test_staff_networks_reach_the_admin(site):
    admin = site.get("/admin/")

    assert (admin.status, admin.headers["location"]) == (302, "/admin/login/?next=/admin/")


def test_the_internet_reaches_neither_the_admin_nor_readyz(public_site):
    export_static_site(public_site.export)

    for path in ("/admin/", "/admin/login/", "/readyz"):
        refused = public_site.get(path)
        assert refused.status == 403, path
        assert "x-request-id" not in refused.headers, path  # refused by nginx: the application never saw it
    assert public_site.get("/").status == 200
    assert public_site.get("/requests/new/dpa/").status == 200


def test_access_lines_are_json_without_addresses_tokens_or_query_strings(site):
    site.get("/requests/status/Zq7secret-token-of-a-requester/?email=ann%40example.com")
    site.get("/subscribe/confirm/Another-secret/")
    site.get("/customers/confirm/third-secret/")

    deadline = time.monotonic() + 5  # nginx writes a line once the answer is sent
    while len(site.log.read_text().splitlines()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [json.loads(line) for line in site.log.read_text().splitlines()]

    assert [line["path"] for line in lines] == [
        "/requests/status/[masked]/",
        "/subscribe/confirm/[masked]/",
        "/customers/confirm/[masked]/",
    ]
    text = site.log.read_text()
    for secret in ("Zq7secret", "Another-secret", "third-secret", "ann", "127.0.0.1"):
        assert secret not in text
    assert all(len(line["request_id"]) == 32 for line in lines)
    assert sorted(lines[0]) == [
        "bytes",
        "method",
        "path",
        "request_id",
        "seconds",
        "status",
        "time",
        "upstream_seconds",
    ]
