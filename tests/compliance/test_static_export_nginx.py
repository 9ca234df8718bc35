"""The static export served by Debian's nginx with deploy/nginx-static-export.conf:
the same bytes and content types as Django's answers."""

import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from compliance.static_export import export_static_site
from tests.compliance.test_static_export import LIVE_URLS, V2, as_of_urls
from tests.factories import SubprocessorFactory, publish_draft
from tests.nginx import free_port, nginx_running

pytestmark = pytest.mark.nginx

SNIPPET = Path(__file__).resolve().parents[2] / "deploy" / "nginx-static-export.conf"


@pytest.fixture
def nginx(tmp_path) -> Iterator[tuple[str, Path]]:
    """nginx on a free port, serving tmp_path/site with the shipped snippet."""
    port = free_port()
    server = f"""
  access_log off;
  server {{
    listen 127.0.0.1:{port};
    root {tmp_path}/site;
    include {SNIPPET};
  }}"""
    with nginx_running(tmp_path / "nginx", server, port):
        yield f"http://127.0.0.1:{port}", tmp_path / "site"


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
