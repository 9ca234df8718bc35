"""The static export served by Debian's nginx with deploy/nginx-static-export.conf:
the same bytes and content types as Django's answers."""

import os
import pwd
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from compliance.static_export import export_static_site
from tests.compliance.test_static_export import LIVE_URLS, V2, as_of_urls
from tests.deploy.test_nginx_site import needs_nginx
from tests.factories import SubprocessorFactory, publish_draft

pytestmark = pytest.mark.nginx

NGINX = "/usr/sbin/nginx"
SNIPPET = Path(__file__).resolve().parents[2] / "deploy" / "nginx-static-export.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def nginx(tmp_path) -> Iterator[tuple[str, Path]]:
    """nginx as this user, on a free port, serving tmp_path/site with the shipped snippet."""
    needs_nginx()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    port = free_port()
    # Started as root, nginx would hand its workers to "nobody", who cannot read a test's files.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(
        f"""
{user}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {tmp_path}/site;
        include {SNIPPET};
    }}
}}
"""
    )
    process = subprocess.Popen(
        [NGINX, "-e", str(prefix / "error.log"), "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((prefix / "error.log").read_text()) from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", tmp_path / "site"
    finally:
        process.terminate()
        process.wait(timeout=10)


def fetch(url: str) -> tuple[int, str, bytes, dict[str, str]]:
    request = urllib.request.Request(url)  # noqa: S310  (the test's own nginx, over http)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read(), dict(error.headers)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def versions(clock, three_versions):
    """Three versions (1 June 09:00, 3 June 10:00 and 15:00 UTC), looked at the next morning."""
    clock.set(datetime(2026, 6, 4, 8, 0, tzinfo=UTC))
    return three_versions


@pytest.mark.parametrize("url", LIVE_URLS + as_of_urls(V2))
def test_nginx_serves_the_bytes_and_content_type_django_serves(client, versions, nginx, url):
    base, site = nginx
    export_static_site(site)
    django = client.get(url)

    status, content_type, body, _ = fetch(base + url)

    assert django.status_code == status == 200
    assert body == django.content
    assert content_type == django.headers["Content-Type"]


def test_nginx_serves_the_assets_the_page_references(versions, nginx):
    base, site = nginx
    export_static_site(site)
    project_css = Path(__file__).resolve().parents[2] / "static" / "css" / "trust.css"

    status, content_type, body, headers = fetch(base + "/static/css/trust.css")

    assert (status, content_type, body) == (200, "text/css; charset=utf-8", project_css.read_bytes())
    assert headers["Cache-Control"] == "public, max-age=2592000"


def test_nginx_sends_trust_json_to_any_origin_and_redirects_security_txt(versions, nginx):
    base, site = nginx
    export_static_site(site)

    _, _, _, headers = fetch(base + "/trust.json")
    status, _, _, redirect = fetch(base + "/security.txt")

    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Cache-Control"] == "public, max-age=60"
    assert status == 301
    assert redirect["Location"].endswith("/.well-known/security.txt")


def test_nginx_shows_a_new_export_at_once_and_hides_the_rest(client, versions, nginx, editor, approver):
    base, site = nginx
    export_static_site(site)
    old_page = fetch(base + "/")[2]
    SubprocessorFactory.create(actor=editor, slug="render", name="Render")
    publish_draft(requester=editor, approver=approver, summary="Add Render")

    export_static_site(site)

    new_page = fetch(base + "/")[2]
    assert new_page != old_page
    assert new_page == client.get("/").content
    assert b"Render" in new_page
    assert fetch(base + "/as-of/not-exported/")[0] == 404
    assert fetch(base + "/.build-x/index.html")[0] == 404
