"""Every public page and form is valid HTML, by the Nu Html Checker (vnu.jar).

The pages are fetched once through the test client, written to a temporary
directory and checked in one run of the checker (one JVM start). The checker
is the `vnu-jar` npm package (package.json), which scripts/test installs
with Debian's Java; where either is missing the test is skipped, except in
CI (CI=true), where it fails instead of hiding the check.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.public_pages import collect_public_pages

pytestmark = pytest.mark.e2e

VNU_JAR = Path(os.environ.get("VNU_JAR", django_settings.BASE_DIR / "node_modules/vnu-jar/build/dist/vnu.jar"))


def _checker() -> list[str]:
    java = shutil.which("java")
    missing = [what for what, ok in ((f"{VNU_JAR}", VNU_JAR.exists()), ("java", java is not None)) if not ok]
    if missing:
        message = f"The HTML checker needs {' and '.join(missing)} (scripts/test installs both)."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return [str(java), "-Xss4m", "-jar", str(VNU_JAR)]


def _file_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".html"


def check_html(files: list[Path]) -> list[dict]:
    """The checker's errors over all `files`, in one run."""
    result = subprocess.run(
        [*_checker(), "--format", "json", "--stdout", "--exit-zero-always", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    messages = json.loads(result.stdout)["messages"]
    return [m for m in messages if m.get("type") in ("error", "non-document-error")]


def test_the_checker_reports_an_invalid_page_with_its_line(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        '<!doctype html>\n<html lang="en"><head><title>t</title></head>\n<body>\n'
        '<table><tr role="row"><th role="rowheader">a</th></tr></table>\n</body></html>\n'
    )

    errors = check_html([page])

    assert [(e["lastLine"], e["message"].split(" element ")[0]) for e in errors] == [
        (4, "The “role” attribute must not be used on a “tr”"),
        (4, "The “role” attribute must not be used on a “th”"),
    ]


def test_every_public_page_is_valid_html(db, clock, settings, make_staff, tmp_path):
    pages = collect_public_pages(clock=clock, settings=settings, make_staff=make_staff)
    files = {}
    for page in pages.values():
        path = tmp_path / _file_name(page.name)
        path.write_text(page.html, encoding="utf-8")
        files[path.name] = page

    errors = check_html([tmp_path / name for name in files])

    report = []
    for error in errors:
        page = files[error["url"].rsplit("/", 1)[-1]]
        report.append(
            f"{page.name} ({page.url}, {_file_name(page.name)}) line {error.get('lastLine', '?')}: "
            f"{error['message']}\n    {error.get('extract', '').strip()}"
        )
    assert len(pages) >= 50
    assert report == [], f"{len(report)} HTML errors:\n" + "\n".join(report)
