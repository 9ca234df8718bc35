"""The public Security & Compliance page: what it shows, how it is built, and
that it stays accessible, self-contained and safe with any content."""

import itertools
import re
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string

from compliance.enums import SectionKey
from compliance.models import (
    Certification,
    ContactRoute,
    Control,
    DataHandlingRow,
    Document,
    GdprFact,
    Organization,
    Section,
    Subprocessor,
)
from compliance.snapshot import build_snapshot
from core.history import system_actor
from tests.factories import add_rows_per_section, published_page, save
from tests.pdfs import pdf as pdf_bytes

PAGE_QUERIES = 10  # the snapshot's; the views pass the footer's audit chain head in

HOSTILE = '<script>alert("x")</script><img src=x onerror="y()">'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&quot;y()&quot;&gt;"


class Outline(HTMLParser):
    """Collects what the accessibility checks need from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.headings: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # A valueless attribute (`hidden`) reads as "".
        self.tags.append((tag, {name: value or "" for name, value in attrs}))
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


def test_page_takes_the_same_number_of_queries_for_1_and_30_rows_per_list(seeded, client, django_assert_num_queries):
    # Building the snapshot and rendering it (what a publication freezes and
    # the preview shows); the live page then serves the frozen dict in 1 query.
    actor = system_actor()
    add_rows_per_section(1, actor, prefix="a")
    with django_assert_num_queries(PAGE_QUERIES):
        small = render_to_string("compliance/page.html", {"snapshot": build_snapshot()})

    add_rows_per_section(29, actor, prefix="b")
    with django_assert_num_queries(PAGE_QUERIES):
        large = render_to_string("compliance/page.html", {"snapshot": build_snapshot()})

    assert small.count('<li class="card cert cert-planned">') == 2 + 1
    assert large.count('<li class="card cert cert-planned">') == 2 + 30
    assert large.count('<th scope="row">Sub ') == 30


def test_markup_in_any_content_field_is_shown_as_text(db, client):
    actor = system_actor()
    save(
        Organization(
            name=f"Org {HOSTILE}",
            legal_name=f"Legal {HOSTILE}",
            page_title=f"Title {HOSTILE}",
            intro=f"Intro {HOSTILE}",
            contact_email="a@acme.test",
            security_email="b@acme.test",
        ),
        actor,
    )
    for i, key in enumerate(SectionKey.values):
        save(Section(key=key, title=f"{key} {HOSTILE}", intro=f"intro {HOSTILE}", position=i), actor)
    save(Certification(slug="c", name=HOSTILE, target=HOSTILE, description=HOSTILE), actor)
    save(
        Control(
            slug="k",
            section=Section.objects.get(key=SectionKey.ACCESS_CONTROLS),
            group=HOSTILE,
            title=HOSTILE,
            body=HOSTILE,
            status="planned",
        ),
        actor,
    )
    save(Subprocessor(slug="s", name=HOSTILE, purpose=HOSTILE, certifications=HOSTILE, location=HOSTILE), actor)
    save(DataHandlingRow(slug="d", category=HOSTILE, description=HOSTILE), actor)
    save(GdprFact(slug="g", label=HOSTILE, body=HOSTILE), actor)
    save(ContactRoute(slug="r", label=HOSTILE, email="r@acme.test", topics=HOSTILE), actor)
    save(
        Document(
            slug="doc",
            title=HOSTILE,
            description=HOSTILE,
            visibility="public",
            file=SimpleUploadedFile("d.pdf", pdf_bytes("document")),
        ),
        actor,
    )

    html = published_page(client)

    assert "<script" not in html
    assert "<img" not in html
    assert 'onerror="' not in html
    # organization: <title> twice, meta description, brand, h1, lede, footer (7);
    # sections: nav link, heading, intro (3 x 10); list fields (16), document title and description (2)
    assert html.count(ESCAPED) == 7 + 3 * len(SectionKey.values) + 16 + 2
    assert f'<h3 class="group-title">{ESCAPED}</h3>' in html
    assert f"<strong>{ESCAPED}</strong> — {ESCAPED}" in html
    assert f"<dt>{ESCAPED}</dt><dd>{ESCAPED}</dd>" in html


def test_empty_content_renders_a_page_that_says_so(db):
    html = render_to_string("compliance/page.html", {"snapshot": build_snapshot()})

    assert "<h1>Security &amp; Compliance</h1>" in html
    assert '<p class="empty">This page has no content yet.</p>' in html
    assert "Last updated: not yet" in html


def test_retired_items_are_not_shown(seeded, client, editor):
    for model, slug in (
        (Certification, "hipaa-baa"),
        (Control, "hsts"),
        (Subprocessor, "stripe"),
        (DataHandlingRow, "training-data"),
        (GdprFact, "eu-transfers"),
        (ContactRoute, "security"),
    ):
        row = model.objects.get(slug=slug)
        row.is_active = False
        save(row, editor, "retired")

    html = published_page(client)

    for gone in (
        ">HIPAA</h3>",
        "HSTS headers enforced",
        '<th scope="row">Stripe</th>',
        ">Training data</th>",
        "<dt>EU Data Transfers</dt>",
        ">Security</h3>",
    ):
        assert gone not in html
    assert ">PCI DSS</h3>" in html


def test_statuses_are_written_out_not_only_coloured(seeded, client):
    html = published_page(client)

    assert (
        '<h3 class="card-title">SOC 2 Type I</h3>\n      <p class="status status-in_progress">'
        '<span class="visually-hidden">Status: </span>In progress</p>'
    ) in html
    assert (
        '<p class="status status-not_applicable"><span class="visually-hidden">Status: </span>Not applicable</p>'
        in html
    )
    assert ("<strong>Zero standing access</strong> — internal tools will require authentication") in html
    assert html.count('<span class="badge badge-planned">Planned</span>') == 1


def test_section_order_follows_position(seeded, client, editor):
    gdpr = Section.objects.get(key=SectionKey.GDPR)
    gdpr.position = 1
    save(gdpr, editor, "lead with GDPR for EU visitors")

    html = published_page(client)

    assert html.index('<h2 id="gdpr-title">') < html.index('<h2 id="certifications-title">')
    toc = re.findall(r'<li><a href="#([a-z-]+)">', html)
    assert toc == [
        "gdpr",
        "certifications",
        "data-security",
        "infrastructure",
        "access-controls",
        "incident-response",
        "vulnerability-disclosure",
        "data-handling",
        "contact",
    ]


# --- accessibility and self-containment -------------------------------------


@pytest.fixture
def page(seeded, client) -> str:
    return published_page(client)


def test_page_has_landmarks_and_a_skip_link(page):
    doc = outline(page)

    assert doc.find("html", lang="en")
    assert doc.find("meta", name="viewport", content="width=device-width, initial-scale=1")
    assert doc.find("a", **{"class": "skip-link", "href": "#main"})
    assert len(doc.find("main", id="main")) == 1
    assert len(doc.find("header", **{"class": "site-header"})) == 1
    assert len(doc.find("footer", **{"class": "site-footer"})) == 1
    assert doc.find("nav", **{"aria-labelledby": "toc-title"})
    assert 'id="toc-title">On this page</p>' in page


def test_ids_are_unique_and_every_in_page_link_has_a_target(page):
    doc = outline(page)
    ids = [a["id"] for _, a in doc.tags if a.get("id")]
    fragment_links = [a["href"][1:] for _, a in doc.tags if (a.get("href") or "").startswith("#")]

    assert len(ids) == len(set(ids))
    assert sorted(set(fragment_links) - set(ids)) == []
    assert len(fragment_links) == 1 + 9  # the skip link and the section list


def test_headings_start_at_one_h1_and_never_skip_a_level(page):
    levels = outline(page).headings

    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))
    assert levels.count(2) == 9


def test_every_section_is_labelled_by_its_heading(page):
    doc = outline(page)
    sections = doc.find("section")

    assert [s["aria-labelledby"] for s in sections] == [f"{s['id']}-title" for s in sections]
    for section in sections:
        assert doc.find("h2", id=section["aria-labelledby"])
        assert doc.find("a", href=f"#{section['id']}")


def test_tables_have_captions_and_scoped_headers(page):
    doc = outline(page)
    headers = doc.find("th")

    assert page.count("<table") == 2 and page.count("<caption") == 2
    assert {th.get("scope") for th in headers} == {"col", "row"}
    assert len(doc.find("th", scope="col")) == 2 + 4
    assert len(doc.find("th", scope="row")) == 7 + 5


def test_page_needs_no_script_no_inline_style_and_no_external_asset(page):
    doc = outline(page)

    assert doc.find("script") == []
    assert doc.find("style") == []
    assert [a for _, a in doc.tags if "style" in a] == []
    assert [a for _, a in doc.tags if any(k.startswith("on") for k in a)] == []
    stylesheets = doc.find("link", rel="stylesheet")
    assert [(s["href"], s.get("media")) for s in stylesheets] == [
        ("/static/css/trust.css", None),
        ("/static/css/print.css", "print"),
    ]
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_stylesheets_are_served_locally(db, client):
    for path in ("/static/css/trust.css", "/static/css/print.css"):
        response = client.get(path)
        body = b"".join(response.streaming_content) if response.streaming else response.content

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/css")
        assert b"@import" not in body and b"url(http" not in body


# Every text colour the stylesheet puts on a background, as (text, background).
TEXT_ON_BACKGROUND = [
    ("ink", "paper"),
    ("ink", "wash"),
    ("ink-soft", "paper"),
    ("ink-soft", "wash"),
    ("accent", "paper"),
    ("accent", "accent-wash"),
    ("accent-dark", "paper"),
    ("ok", "ok-bg"),
    ("warn", "warn-bg"),
    ("info", "info-bg"),
    ("muted", "muted-bg"),
    ("on-ink", "ink"),
    ("on-ink-soft", "ink"),
    ("paper", "accent"),
    ("paper", "accent-dark"),
]


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_text_colours_meet_wcag_aa_contrast():
    from django.conf import settings

    css = (settings.BASE_DIR / "static" / "css" / "trust.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6});", css))

    ratios = {}
    for text, background in TEXT_ON_BACKGROUND:
        lighter, darker = sorted((_luminance(colours[text]), _luminance(colours[background])), reverse=True)
        ratios[(text, background)] = round((lighter + 0.05) / (darker + 0.05), 2)

    assert {pair: r for pair, r in ratios.items() if r < 4.5} == {}
    assert "focus-visible { outline: 3px solid var(--focus)" in css.replace("\n  ", " ")
