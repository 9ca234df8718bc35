"""Update bodies: Markdown to safe HTML.

markdown-it-py (CommonMark) parses with raw HTML off, so `<script>` in a body
is shown as text, and with images off, so a body cannot load anything from
another host. nh3 (the Rust `ammonia` sanitizer) then keeps only the tags and
attributes of the allowlist below, as a second line behind the parser: no
scripts, styles, event handlers, frames or `src` of any kind; links only to
http(s), mailto or this site, with rel="nofollow noopener". The page's CSP
needs no change for it.
"""

from functools import cache

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "em", "strong", "code", "pre", "blockquote",
        "ul", "ol", "li", "a", "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener"


@cache
def _parser() -> MarkdownIt:
    # "commonmark" plus tables; "html": False shows raw HTML as text.
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable("table")
    parser.disable("image")
    return parser


def _demote_headings(html: str) -> str:
    # The page and the update's own page already use h1 and h2.
    return html.replace("<h1>", "<h3>").replace("</h1>", "</h3>").replace("<h2>", "<h3>").replace("</h2>", "</h3>")


def markdown_to_html(text: str) -> SafeString:
    """The sanitized HTML of a Markdown body, marked safe for templates."""
    html = _demote_headings(_parser().render(text or ""))
    clean = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308  (the allowlist above is all that survives)


def markdown_to_text(text: str) -> str:
    """The body as plain text for mail: the Markdown source is already readable."""
    return (text or "").strip()
