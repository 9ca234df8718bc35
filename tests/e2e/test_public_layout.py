"""Every public page in a real browser, at a phone's and a desktop's width:
the layout's header with the brand and its links, the main column where the
trust page has it, and nothing that scrolls sideways."""

import os
from pathlib import Path

import pytest
from django.core.cache import cache

from compliance.services import publication_publish_initial, seed_load
from core.history import system_actor
from subscriptions import services as subscription_services
from tests.factories import SEED_DATA, DocumentFactory, SubprocessorFactory, offer_nda, publish_draft
from tests.pdfs import pdf as pdf_bytes
from tests.requests_app.helpers import submit, verification_link_token
from tests.subscriptions.helpers import mailed_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WIDTHS = {"phone": 375, "desktop": 1280}
# Set to a directory to keep the screenshots (the changelog at both widths) for a look.
SCREENSHOT_DIR = os.environ.get("LAYOUT_SCREENSHOT_DIR")

MEASURE = """() => {
  const box = (selector) => {
    const e = document.querySelector(selector);
    if (!e) return null;
    // The content box: where text starts and how wide it may run.
    const r = e.getBoundingClientRect();
    const style = getComputedStyle(e);
    const left = parseFloat(style.paddingLeft), right = parseFloat(style.paddingRight);
    return {x: Math.round(r.x + left), width: Math.round(r.width - left - right)};
  };
  const visible = (selector) => {
    const e = document.querySelector(selector);
    if (!e) return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== "hidden";
  };
  return {
    scrollWidth: document.documentElement.scrollWidth,
    brandMark: visible(".site-header .brand-mark"),
    brandName: document.querySelector(".site-header .brand-name")?.textContent,
    brandNameShown: visible(".site-header .brand-name"),
    headerLinks: [...document.querySelectorAll(".site-header .header-link")]
      .filter((e) => e.getBoundingClientRect().width > 0).map((e) => e.textContent),
    headerBar: box(".site-header .header-bar"),
    heroColumn: box(".hero > .wrap"),
    column: box("main > .page-body"),
    footer: box(".site-footer > .wrap"),
    h1: box("main h1"),
  };
}"""


@pytest.fixture
def site(live_server, settings, make_staff) -> dict[str, str]:
    """Content and tickets behind every kind of public page; their URLs by name."""
    settings.SITE_URL = live_server.url
    cache.clear()
    editor = make_staff("edna", "Compliance editor")
    approver = make_staff("apollo", "Compliance approver")
    seed_load(data=SEED_DATA, actor=system_actor())
    publication_publish_initial(actor=system_actor())
    offer_nda(label="2026-06", text="Keep it confidential.", editor=editor)
    DocumentFactory.create(
        actor=editor, slug="soc2-report", title="SOC 2 report", visibility="gated", content=pdf_bytes()
    )
    SubprocessorFactory.create(actor=editor)
    publish_draft(requester=editor, approver=approver, summary="Fly.io hosts the API; the SOC 2 report is listed.")
    _ticket, status_token = submit("dpa")
    dsr, _ = submit("dsr_access", details="All of it.")
    subscription_services.subscriber_request(email="ann@example.org", scope="all")
    confirm = mailed_token("confirm", to="ann@example.org")
    subscription_services.subscriber_confirm(raw_token=confirm)
    unsubscribe = mailed_token("unsubscribe", to="ann@example.org")
    subscription_services.subscriber_request(email="bob@example.org", scope="all")
    return {
        "trust page": "/",
        "changelog": "/changelog/",
        "as-of page": "/as-of/2026-06-01/",
        "as-of error": "/as-of/not-a-day/",
        "request index": "/requests/",
        "DPA form": "/requests/new/dpa/",
        "BAA form": "/requests/new/baa/",
        "erasure form": "/requests/new/data-subject/erasure/",
        "status page": f"/requests/status/{status_token}/",
        "verification page": f"/requests/verify/{verification_link_token(dsr)}/",
        "link invalid": "/requests/status/" + "x" * 43 + "/",
        "nothing to show": "/requests/submitted/",
        "subscribe": "/subscribe/",
        "subscribe sent": "/subscribe/sent/",
        "subscription confirm": f"/subscribe/confirm/{mailed_token('confirm', to='bob@example.org')}/",
        "unsubscribe": f"/subscribe/unsubscribe/{unsubscribe}/",
        "objection": "/subscribe/object/2/",
        "document request": "/documents/soc2-report/request/",
        "document not available": "/documents/nothing/request/",
        "404 page": "/no/such/page/",
    }


@pytest.mark.parametrize("device", WIDTHS)
def test_every_public_page_has_the_header_the_column_and_no_sideways_scrolling(
    browser, live_server, site, device, tmp_path
):
    width = WIDTHS[device]
    context = browser.new_context(viewport={"width": width, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    measured = {}
    try:
        for name, path in site.items():
            page.goto(live_server.url + path)
            measured[name] = page.evaluate(MEASURE)
            if name == "changelog":
                shots = Path(SCREENSHOT_DIR) if SCREENSHOT_DIR else tmp_path
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / f"changelog-{device}-{width}.png"), full_page=True)
    finally:
        context.close()

    trust = measured["trust page"]
    problems = []
    for name, m in measured.items():
        if m["scrollWidth"] > width:
            problems.append(f"{name}: scrolls sideways ({m['scrollWidth']} > {width})")
        if not (m["brandMark"] and m["brandNameShown"] and m["brandName"] == "Coaxiom"):
            problems.append(f"{name}: the header lacks the brand: {m['brandName']!r}, mark {m['brandMark']}")
        if m["headerLinks"] != ["Requests", "Report a vulnerability"]:
            problems.append(f"{name}: header links {m['headerLinks']}")
        for part in ("headerBar", "heroColumn", "column", "footer"):
            if m[part] is None or (m[part]["x"], m[part]["width"]) != (trust[part]["x"], trust[part]["width"]):
                problems.append(f"{name}: {part} at {m[part]}, the trust page's at {trust[part]}")
        if m["h1"] is None or m["h1"]["x"] != trust["h1"]["x"]:
            problems.append(f"{name}: the heading starts at {m['h1']}, the trust page's at {trust['h1']}")
    assert problems == []
    # The column: the page's width less 16 px each side on a phone; 76rem less 20 px each side, centred, on a desktop.
    assert (trust["column"]["x"], trust["column"]["width"]) == ((16, 343) if device == "phone" else (52, 1176))
