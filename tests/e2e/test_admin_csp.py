"""The admin and the trust page work in a real browser under the Content-Security-Policy."""

import os
from pathlib import Path

import pytest

from compliance.models import Certification
from compliance.services import seed_load, system_actor
from tests.factories import SEED_DATA

# Playwright's sync API runs an event loop in this thread; Django would refuse
# database access from it as "async unsafe" although every call here is sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-battery"

# Collects every CSP violation the page reports, before any page script runs.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'} at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture(scope="module")
def csp_browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; CI must run the browser tests.")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def watched_page(csp_browser):
    context = csp_browser.new_context()
    context.set_default_timeout(15_000)
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    yield page, console
    context.close()


def violations(page, console: list[str]) -> list[str]:
    reported = page.evaluate("window.__cspViolations")
    in_console = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    return reported + in_console


@pytest.fixture
def site(transactional_db, django_db_serialized_rollback, live_server, django_user_model):
    seed_load(data=SEED_DATA, actor=system_actor())
    # A superuser: this test is about the browser and the policy, not roles
    # (and a transactional test starts without the groups migrations made).
    django_user_model.objects.create_superuser("edna", "edna@example.com", PASSWORD)
    return live_server.url


def test_admin_edit_under_csp(site, watched_page):
    page, console = watched_page
    seen: list[str] = []

    page.goto(f"{site}/admin/login/?next=/admin/")
    seen += violations(page, console)
    page.fill("#id_username", "edna")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{site}/admin/")
    seen += violations(page, console)

    cert = Certification.objects.order_by("pk").first()
    page.goto(f"{site}/admin/compliance/certification/{cert.pk}/change/")
    seen += violations(page, console)
    page.fill("#id_description", "Audit window agreed with the auditor.")
    page.fill("#id_change_reason", "Auditor engaged")
    page.click("input[name=_save]")
    page.wait_for_url(f"{site}/admin/compliance/certification/")
    assert "was changed successfully" in page.inner_text("ul.messagelist")
    seen += violations(page, console)

    cert.refresh_from_db()
    assert cert.description == "Audit window agreed with the auditor."
    latest = cert.history.order_by("-history_id").first()
    assert (latest.history_change_reason, latest.history_user.username) == ("Auditor engaged", "edna")

    # The add form runs the slug prepopulation script; the history lists its versions.
    page.goto(f"{site}/admin/compliance/certification/add/")
    page.locator("#id_name").press_sequentially("ISO 27701")
    assert page.input_value("#id_slug") == "iso-27701"
    seen += violations(page, console)
    page.goto(f"{site}/admin/compliance/certification/{cert.pk}/history/")
    assert "Auditor engaged" in page.content()
    seen += violations(page, console)

    assert seen == []


def test_trust_page_under_csp(site, watched_page):
    page, console = watched_page
    response = page.goto(f"{site}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.locator("h1").first.inner_text() != ""
    assert violations(page, console) == []
    assert [line for line in console if line.startswith(("error", "pageerror"))] == []
