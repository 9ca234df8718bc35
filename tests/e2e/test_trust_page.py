"""The trust page in a real browser: phone and desktop layouts, keyboard use, print."""

import os
from pathlib import Path

import pytest

from compliance.services import publication_publish_initial, seed_load, system_actor
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


@pytest.fixture(scope="module")
def chromium(request):
    # Playwright's sync API cannot run twice at once in a thread: use the
    # suite's shared browser fixture where there is one.
    try:
        shared = request.getfixturevalue("browser")
    except pytest.FixtureLookupError:
        shared = None
    if shared is not None:
        yield shared
        return
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
def trust_url(transactional_db, django_db_serialized_rollback, live_server) -> str:
    seed_load(data=SEED_DATA, actor=system_actor())
    publication_publish_initial(actor=system_actor())
    return live_server.url + "/"


def open_page(chromium, url: str, width: int):
    page = chromium.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(url)
    return page


def test_phone_layout_has_no_sideways_scrolling_and_stacks_tables(chromium, trust_url):
    page = open_page(chromium, trust_url, 390)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") == 390
        assert page.locator("#infrastructure thead").is_visible() is False
        first_cell = page.locator("#infrastructure tbody tr").first.locator("td").first
        assert page.evaluate("e => getComputedStyle(e).display", first_cell.element_handle()) == "block"
        label = page.evaluate("e => getComputedStyle(e, '::before').content", first_cell.element_handle())
        assert "Purpose" in label
        assert page.locator("#toc-title").is_visible()
    finally:
        page.close()


def test_no_sideways_scrolling_from_small_phone_to_wide_desktop(chromium, trust_url):
    page = open_page(chromium, trust_url, 320)
    try:
        overflow = {}
        for width in (320, 390, 660, 768, 1024, 1280, 1600):
            page.set_viewport_size({"width": width, "height": 900})
            overflow[width] = (
                page.evaluate("document.documentElement.scrollWidth") - width,
                page.evaluate("[...document.querySelectorAll('.table-wrap')].map(e => e.scrollWidth - e.clientWidth)"),
            )
        assert overflow == {width: (0, [0, 0]) for width in overflow}
    finally:
        page.close()


def test_desktop_layout_puts_a_sticky_section_list_beside_the_sections(chromium, trust_url):
    page = open_page(chromium, trust_url, 1280)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") == 1280
        toc = page.locator("nav.toc").bounding_box()
        first_section = page.locator("#certifications").bounding_box()
        assert toc["x"] + toc["width"] <= first_section["x"]
        assert page.evaluate("getComputedStyle(document.querySelector('nav.toc')).position") == "sticky"
        assert page.locator("#infrastructure thead").is_visible()
    finally:
        page.close()


def test_keyboard_user_can_skip_to_content_and_jump_to_a_section(chromium, trust_url):
    page = open_page(chromium, trust_url, 1280)
    try:
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent")
        box = page.locator(".skip-link").bounding_box()
        assert focused == "Skip to content"
        assert box["x"] >= 0 and box["y"] >= 0
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline == "solid"

        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"

        page.locator('nav.toc a[href="#gdpr"]').focus()
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#gdpr"
    finally:
        page.close()


def test_print_hides_navigation_and_keeps_statuses_as_text(chromium, trust_url):
    page = open_page(chromium, trust_url, 1280)
    try:
        page.emulate_media(media="print")
        assert page.locator("nav.toc").is_visible() is False
        links = page.locator(".header-link")
        assert links.count() == 2
        assert [links.nth(i).is_visible() for i in range(links.count())] == [False, False]
        status = page.locator("#certifications .status").first
        assert status.inner_text().endswith("In progress")
        assert page.evaluate("e => getComputedStyle(e).backgroundColor", status.element_handle()) == "rgba(0, 0, 0, 0)"
    finally:
        page.close()
