"""Browser tests: Playwright's sync API driving Debian's Chromium against live_server.

They are skipped where /usr/bin/chromium is missing, except in CI (CI=true),
where a missing browser fails the run instead of hiding the tests.
"""

import os
from pathlib import Path

import pytest
from django.db import connections

# Playwright's sync API runs an event loop in this thread; Django would refuse
# database access from it as "async unsafe" although every call here is sync.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

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


def _in_ci() -> bool:
    return os.environ.get("CI") == "true"


@pytest.fixture(scope="module")
def browser():
    """One browser per test module, not per session: while Playwright's event
    loop runs, Django hands this thread a separate set of database connections
    (asgiref's Local follows the loop's context), which the tests of other
    modules must not inherit."""
    if not CHROMIUM.exists():
        if _in_ci():
            pytest.fail(f"{CHROMIUM} is missing; CI must run the browser tests.")
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium to run browser tests)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # Close the connections opened under the loop before it goes away.
        connections.close_all()


@pytest.fixture
def browser_context(browser):
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()
