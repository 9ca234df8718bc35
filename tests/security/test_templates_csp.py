"""Templates of pages the Content-Security-Policy covers use no inline style or script.

The CSP allows only the site's own scripts and styles (no 'unsafe-inline'), so a
`style="..."` attribute, an inline `<script>` or an `on...=` handler would be
blocked in the browser. Mail templates are exempt: mail clients see no CSP and
many ignore style sheets.
"""

import re
from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
MAIL = TEMPLATES / "emails"

INLINE = [
    ("style attribute", re.compile(r"\sstyle\s*=", re.IGNORECASE)),
    ("inline script", re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)),
    ("event handler attribute", re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)),
]


def page_templates() -> list[Path]:
    return sorted(path for path in TEMPLATES.rglob("*.html") if MAIL not in path.parents)


def test_page_templates_are_found():
    names = {path.relative_to(TEMPLATES).as_posix() for path in page_templates()}
    assert {"base.html", "compliance/page.html", "admin/mfa_enrol.html"} <= names
    assert not any(name.startswith("emails/") for name in names)


def test_no_inline_style_script_or_handler_in_page_templates():
    found = []
    for path in page_templates():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for what, pattern in INLINE:
                if pattern.search(line):
                    found.append(f"{path.relative_to(TEMPLATES)}:{number}: {what}: {line.strip()}")
    assert found == []


def test_the_check_would_see_a_style_attribute():
    line = '<p class="x" style="color: red">'
    assert [what for what, pattern in INLINE if pattern.search(line)] == ["style attribute"]
    assert [what for what, pattern in INLINE if pattern.search('<script src="/static/a.js"></script>')] == []
    assert [what for what, pattern in INLINE if pattern.search("<script>alert(1)</script>")] == ["inline script"]
