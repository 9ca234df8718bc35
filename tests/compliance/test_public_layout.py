"""Every public page has the one layout, and names the published organization, never the draft."""

import re

import pytest
from django.core.cache import cache

from compliance.models import Organization
from tests.factories import DocumentFactory, offer_nda, publish_draft, save
from tests.pdfs import pdf as pdf_bytes
from tests.public_pages import collect_public_pages

# A page of each app that has no snapshot of its own: they read the published organization.
APP_PAGES = [
    "/requests/",
    "/requests/new/dpa/",
    "/subscribe/",
    "/subscribe/sent/",
    "/documents/soc2-report/request/",
]


def brand(html: str) -> str:
    match = re.search(r'<span class="brand-name">([^<]*)</span>', html)
    assert match, "no brand in the header"
    return match.group(1)


@pytest.fixture
def live(published, editor, approver):
    """Version 2, with a gated document whose request page exists."""
    offer_nda(label="2026-06", text="Keep it confidential.", editor=editor)
    DocumentFactory.create(
        actor=editor, slug="soc2-report", title="SOC 2 report", visibility="gated", content=pdf_bytes()
    )
    publish_draft(requester=editor, approver=approver)
    cache.clear()


def rename(editor, name: str) -> None:
    organization = Organization.objects.get()
    organization.name = name
    save(organization, editor, "new company name")


@pytest.mark.parametrize("url", APP_PAGES)
def test_a_draft_name_stays_off_the_public_pages_until_published(client, live, editor, approver, url):
    rename(editor, "Renamed Draft Inc")

    before = client.get(url).content.decode()
    publish_draft(requester=editor, approver=approver, summary="new name")
    after = client.get(url).content.decode()

    assert brand(before) == "Coaxiom"
    assert "Renamed Draft Inc" not in before
    assert "<title>" in before and " · Coaxiom</title>" in before
    assert brand(after) == "Renamed Draft Inc"
    assert " · Renamed Draft Inc</title>" in after


@pytest.mark.parametrize("url", ["/requests/", "/requests/new/dpa/", "/subscribe/", "/changelog/", "/"])
def test_before_anything_is_published_the_header_says_trust_center(client, seeded, url):
    html = client.get(url).content.decode()

    assert brand(html) == "Trust center"
    assert "Coaxiom" not in html  # the draft's name, not yet public
    assert "Report a vulnerability" not in html  # nor its security address


def test_a_request_page_costs_one_query_for_the_organization(client, live, django_assert_num_queries):
    # The organization part of the live snapshot, and nothing else.
    with django_assert_num_queries(1) as captured:
        client.get("/requests/")
    assert "snapshot" in captured.captured_queries[0]["sql"]


def test_the_trust_page_reads_its_header_from_its_own_snapshot(client, live, editor, django_assert_num_queries):
    rename(editor, "Renamed Draft Inc")
    # The live version with the newest update (the memo's one query) and its row to
    # render it, as before the shared header: none for the organization.
    with django_assert_num_queries(2):
        html = client.get("/").content.decode()

    assert brand(html) == "Coaxiom"
    assert '<a class="header-link" href="mailto:security@coaxiom.io">Report a vulnerability</a>' in html


def test_the_preview_shows_the_draft_name_it_previews(client, live, editor):
    rename(editor, "Renamed Draft Inc")
    client.force_login(editor)

    assert brand(client.get("/preview/").content.decode()) == "Renamed Draft Inc"


# --- one layout -----------------------------------------------------------------------------

HEADER = re.compile(
    r'<header class="site-header">\s*<div class="wrap header-bar">\s*'
    r'<a class="brand" href="/"><span class="brand-mark" aria-hidden="true"></span>'
    r'<span class="brand-name">(?P<name>[^<]+)</span>(?: <span class="brand-sub">Trust center</span>)?</a>\s*'
    r'<nav class="header-nav" aria-label="Trust center">\s*'
    r'<a class="header-link" href="/requests/">Requests</a>\s*'
    r'(?:<a class="header-link" href="mailto:security@coaxiom\.io">Report a vulnerability</a>)?\s*'
    r"</nav>\s*</div>\s*</header>"
)


def test_every_public_page_has_the_same_header_main_column_and_footer(db, clock, settings, make_staff):
    pages = collect_public_pages(clock=clock, settings=settings, make_staff=make_staff)

    names = {}
    for page in pages.values():
        html = page.html
        header = HEADER.search(html)
        assert header, f"{page.name}: not the layout's header"
        names[page.name] = header.group("name")
        assert html.count('<header class="site-header">') == 1, page.name
        assert html.count('<main id="main" tabindex="-1">') == 1, page.name
        assert html.count('<div class="hero">\n      <div class="wrap">') == 1, page.name
        assert re.search(r'<div class="wrap page-body( layout| narrow)?">', html), page.name
        assert html.count('<footer class="site-footer">\n    <div class="wrap footer-inner">') == 1, page.name
        assert html.count("<h1") == 1, page.name
        assert " style=" not in html, page.name

    # Before publication, and on the 500 page (rendered without the request, so no query), the neutral name.
    assert {name for name, shown in names.items() if shown == "Trust center"} == {
        "trust page, not published",
        "request index, nothing published",
        "500 page",
    }
    assert names["draft preview"] == "Coaxiom Draft Name"
    assert {shown for name, shown in names.items()} == {"Trust center", "Coaxiom", "Coaxiom Draft Name"}
