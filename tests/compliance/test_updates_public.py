"""Published updates on the page, at /updates/, in the feed and in trust.json;
an update nobody approved is seen nowhere."""

import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from compliance import formats, services
from compliance.models import Subprocessor
from tests.factories import publish_update, save, write_update

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def updates(clock, published, editor, approver, settings):
    """One published update, one draft never asked for, one awaiting approval."""
    settings.SITE_URL = "https://trust.example.com"
    clock.advance(hours=1)
    live = write_update(editor=editor, concerns=["section:data-security", "subprocessor:supabase"])
    publication = publish_update(update=live, requester=editor, approver=approver)
    write_update(editor=editor, slug="secret-draft", title="Secret draft", body="not approved")
    pending = write_update(editor=editor, slug="pending-one", title="Pending one", body="asked, not approved")
    services.update_request(update_id=pending.pk, actor=editor)
    return publication


def test_the_page_shows_the_latest_published_updates_only(client, updates):
    html = client.get("/").content.decode()
    assert '<a href="/updates/tls-1-0-retired/">TLS 1.0 retired</a>' in html
    assert "Secret draft" not in html and "Pending one" not in html


def test_the_page_shows_the_three_newest(clock, client, updates, editor, approver):
    for i in range(3):
        clock.advance(minutes=1)
        publish_update(
            update=write_update(editor=editor, slug=f"n{i}", title=f"News {i}"), requester=editor, approver=approver
        )
    html = client.get("/").content.decode()
    assert [slug for slug in ("n2", "n1", "n0", "tls-1-0-retired") if f'data-update="{slug}"' in html] == [
        "n2",
        "n1",
        "n0",
    ]
    listing = client.get("/updates/").content.decode()
    assert (
        listing.index('data-update="n2"')
        < listing.index('data-update="n0"')
        < listing.index('data-update="tls-1-0-retired"')
    )


def test_the_list_and_detail_pages_show_published_updates_only(client, updates):
    listing = client.get("/updates/").content.decode()
    assert "TLS 1.0 retired" in listing
    assert "Secret draft" not in listing and "Pending one" not in listing

    detail = client.get("/updates/tls-1-0-retired/")
    body = detail.content.decode()
    assert detail.status_code == 200
    assert "<p>We no longer accept <strong>TLS 1.0</strong>.</p>" in body
    assert '<a href="/#data-security">Data Security</a>, <a href="/#infrastructure">Supabase</a>' in body
    assert client.get("/updates/secret-draft/").status_code == 404
    assert client.get("/updates/pending-one/").status_code == 404
    assert client.get("/updates/no-such-thing/").status_code == 404


def test_the_public_sees_the_approved_text_not_later_edits(client, updates, editor):
    draft = updates.update
    draft.title = "Edited, not approved"
    draft.body = "Unreviewed words"
    services.update_save(obj=draft, actor=editor, reason="edit")
    for url in ("/", "/updates/", "/updates/tls-1-0-retired/", "/trust.json", "/feed.atom"):
        text = client.get(url).content.decode()
        assert "Unreviewed words" not in text and "Edited, not approved" not in text, url


def test_concerns_name_only_published_items(client, updates, editor, approver):
    save(Subprocessor(slug="secret-vendor", name="Secret Vendor", purpose="p"), editor)
    news = write_update(editor=editor, slug="vendor", title="Vendor news", concerns=["subprocessor:secret-vendor"])
    publish_update(update=news, requester=editor, approver=approver)
    body = client.get("/updates/vendor/").content.decode()
    assert "Vendor news" in body
    assert "Secret Vendor" not in body and "Concerns:" not in body


def test_nothing_is_public_before_the_first_publication(client, seeded, editor, approver):
    publish_update(update=write_update(editor=editor), requester=editor, approver=approver)
    assert "Not yet published" in client.get("/updates/").content.decode()
    assert client.get("/updates/tls-1-0-retired/").status_code == 404


def test_the_feed_carries_published_updates_next_to_versions(client, updates):
    feed = ET.fromstring(client.get("/feed.atom").content)
    entries = [(e.findtext(f"{ATOM}title"), e.find(f"{ATOM}link").get("href")) for e in feed.iter(f"{ATOM}entry")]
    assert entries == [
        ("Security: TLS 1.0 retired", "https://trust.example.com/updates/tls-1-0-retired/"),
        ("Version 1", "https://trust.example.com/changelog/#v1"),
    ]
    entry = next(feed.iter(f"{ATOM}entry"))
    assert entry.findtext(f"{ATOM}summary") == "<p>We no longer accept <strong>TLS 1.0</strong>.</p>\n"
    assert entry.findtext(f"{ATOM}id") == "https://trust.example.com/updates/tls-1-0-retired/#revision-1"


def test_trust_json_lists_published_updates_and_validates(client, updates):
    document = json.loads(client.get("/trust.json").content)
    assert document["updates"] == [
        {
            "slug": "tls-1-0-retired",
            "url": "https://trust.example.com/updates/tls-1-0-retired/",
            "title": "TLS 1.0 retired",
            "category": "security",
            "body_markdown": "We no longer accept **TLS 1.0**.",
            "concerns": ["section:data-security", "subprocessor:supabase"],
            "effective_at": None,
            "published_at": "2026-06-01T10:00:00Z",
            "revised_at": "2026-06-01T10:00:00Z",
            "revision": 1,
        }
    ]
    Draft202012Validator(formats.trust_schema(), format_checker=FormatChecker()).validate(document)


def test_the_past_shows_only_updates_published_by_then(clock, client, updates):
    before = "2026-06-01T09:30:00Z"
    after = "2026-06-01T10:00:00Z"
    assert "TLS 1.0 retired" not in client.get(f"/as-of/{before}/").content.decode()
    assert "TLS 1.0 retired" in client.get(f"/as-of/{after}/").content.decode()
    assert json.loads(client.get(f"/as-of/{before}/trust.json").content)["updates"] == []
    assert [u["slug"] for u in json.loads(client.get(f"/as-of/{after}/trust.json").content)["updates"]] == [
        "tls-1-0-retired"
    ]


def test_publishing_an_update_gives_the_cached_page_a_new_etag(clock, client, published, editor, approver, memo_clock):
    first = client.get("/")
    etag = first.headers["ETag"]
    clock.advance(minutes=5)
    publish_update(update=write_update(editor=editor), requester=editor, approver=approver)
    memo_clock.advance(1)  # every server shows it within a second

    again = client.get("/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 200
    assert again.headers["ETag"] != etag
    assert "TLS 1.0 retired" in again.content.decode()
    assert again.headers["Last-Modified"] == "Mon, 01 Jun 2026 09:05:00 GMT"
    assert client.get("/", HTTP_IF_NONE_MATCH=again.headers["ETag"]).status_code == 304


def test_a_correction_moves_the_etag_and_shows_the_new_text(clock, client, updates, editor, approver, memo_clock):
    etag = client.get("/updates/tls-1-0-retired/").headers["ETag"]
    clock.advance(days=1)
    draft = updates.update
    draft.body = "Corrected: TLS 1.1 too."
    services.update_save(obj=draft, actor=editor, reason="correct")
    publish_update(update=draft, requester=editor, approver=approver)
    memo_clock.advance(1)  # every server shows it within a second
    response = client.get("/updates/tls-1-0-retired/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Corrected: TLS 1.1 too." in body and "corrected" in body


def test_hostile_markdown_is_shown_as_text(client, published, editor, approver):
    hostile = write_update(
        editor=editor,
        slug="hostile",
        body='<script>alert(1)</script> [x](javascript:alert(1)) ![p](https://evil.example/p.png) <b onclick="x">b</b>',
    )
    publish_update(update=hostile, requester=editor, approver=approver)
    body = client.get("/updates/hostile/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert" not in body and 'href="javascript' not in body and 'src="https://evil' not in body
    assert '<a href="https://evil.example/p.png" rel="nofollow noopener">p</a>' in body
    handlers: list[str] = []

    class Attributes(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            handlers.extend(name for name, _ in attrs if name.startswith("on"))

    Attributes().feed(body)
    assert handlers == []


def test_an_effective_moment_is_shown(clock, client, published, editor, approver):
    when = clock.now + timedelta(days=10)
    publish_update(update=write_update(editor=editor, effective_at=when), requester=editor, approver=approver)
    assert "effective <time" in client.get("/updates/tls-1-0-retired/").content.decode()


def test_a_warm_update_page_runs_no_query_and_a_correction_shows_within_the_second(
    clock, client, updates, editor, approver, memo_clock, django_assert_num_queries
):
    first = client.get("/updates/tls-1-0-retired/")
    with django_assert_num_queries(0):
        again = client.get("/updates/tls-1-0-retired/")
        held = client.get("/updates/tls-1-0-retired/", HTTP_IF_NONE_MATCH=first.headers["ETag"])
    assert (again.status_code, again.content) == (200, first.content)
    assert held.status_code == 304
    # Not found is looked up each time; the not-found page reads the organization's name.
    with django_assert_num_queries(2):
        assert client.get("/updates/no-such-thing/").status_code == 404

    clock.advance(days=1)
    draft = updates.update
    draft.body = "Corrected: TLS 1.1 too."
    services.update_save(obj=draft, actor=editor, reason="correct")
    publish_update(update=draft, requester=editor, approver=approver)
    memo_clock.advance(1)
    corrected = client.get("/updates/tls-1-0-retired/", HTTP_IF_NONE_MATCH=first.headers["ETag"])
    assert corrected.status_code == 200
    assert "Corrected: TLS 1.1 too." in corrected.content.decode()
