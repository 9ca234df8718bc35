"""Update bodies cannot inject script, styles, event handlers or resources
from other hosts: a fuzz test over hostile Markdown and HTML fragments."""

from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.markdown import ALLOWED_TAGS, LINK_REL, markdown_to_html

FRAGMENTS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<style>body{display:none}</style>",
    '<p style="color:red">x</p>',
    '<img src="https://evil.example/x.png" onerror="alert(1)">',
    '<iframe src="https://evil.example"></iframe>',
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "[x](vbscript:msgbox(1))",
    "![i](https://evil.example/i.png)",
    "![i](//evil.example/i.png)",
    '<svg onload="alert(1)">',
    '<div onmouseover="x">',
    "<object data=x></object>",
    "<embed src=x>",
    "<link rel=stylesheet href=//evil.example/s.css>",
    '<form action="https://evil.example"><input></form>',
    "<!-- comment -->",
    "[ok](https://example.org/a?b=c)",
    "<https://example.org/autolink>",
    "<mailto:a@example.org>",
    "**bold** _em_ `code`",
    "| a | b |\n|:-|-:|\n| 1 | 2 |",
    "# heading",
    "> quote",
    "- item",
    "\n\n",
    '"',
    "'",
    "<",
    ">",
    "&",
    "`",
]


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def _safe_href(href: str) -> bool:
    value = "".join(href.split()).lower()
    return value.startswith(("https://", "http://", "mailto:", "/", "#")) or ":" not in value.split("/")[0]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20)), max_size=12).map(" ".join))
def test_no_script_style_handler_or_external_resource_survives(text: str) -> None:
    html = str(markdown_to_html(text))
    lowered = html.lower()
    for needle in ("<script", "<style", "<iframe", "<img", "<svg", "<object", "<embed", "<link", "<form"):
        assert needle not in lowered
    collector = Collector()
    collector.feed(html)
    for tag, attrs in collector.tags:
        assert tag in ALLOWED_TAGS
        for name, value in attrs:
            assert name in {"href", "title", "rel", "start"}, (tag, name)
            assert not name.startswith("on") and name not in {"style", "src", "srcset"}
            if name == "href":
                assert value is not None and _safe_href(value), value
                assert not "".join(value.split()).lower().startswith(("javascript:", "data:", "vbscript:"))
        if tag == "a":
            assert dict(attrs).get("rel") == LINK_REL


def test_links_get_nofollow_noopener_and_raw_html_is_text() -> None:
    assert str(markdown_to_html("[site](https://example.org) <b>x</b>")) == (
        '<p><a href="https://example.org" rel="nofollow noopener">site</a> &lt;b&gt;x&lt;/b&gt;</p>\n'
    )


def test_headings_start_below_the_page_headings() -> None:
    assert str(markdown_to_html("# One\n\n## Two\n\n### Three")) == "<h3>One</h3>\n<h3>Two</h3>\n<h3>Three</h3>\n"
