"""In a real browser: a visitor subscribes to security updates; an editor
writes an update in the admin and asks for it; an approver publishes the
frozen text; a visitor reads it on the page and the subscriber's mail is sent."""

import re

import pytest
from django.core import mail
from django_tasks_db.models import DBTaskResult

from compliance.services import publication_publish_initial
from core.history import system_actor
from core.models import OutboxMail
from core.outbox import outbox_send_one
from subscriptions.models import Subscriber, UpdateNotice
from subscriptions.tasks import send_update_notices
from tests.factories import STAFF_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def send_outbox() -> None:
    for mail_id in OutboxMail.objects.filter(status="queued").values_list("pk", flat=True):
        outbox_send_one(mail_id=mail_id)


def link_in_mail(to: str, path: str) -> str:
    send_outbox()
    for message in reversed(mail.outbox):
        if message.to == [to]:
            found = re.search(rf"https?://\S+{path}[A-Za-z0-9_-]+/", str(message.body))
            if found:
                return found.group(0)
    raise AssertionError(f"no mail to {to} with a {path} link")


def sign_in(page, site: str, username: str) -> None:
    page.goto(f"{site}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{site}/admin/")


def test_an_update_written_approved_shown_and_mailed(browser, live_server, settings, seeded, make_staff):
    site = live_server.url
    settings.SITE_URL = site
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_staff("edna", "Compliance editor")
    make_staff("apollo", "Compliance approver")
    publication_publish_initial(actor=system_actor())

    visitor_context, editor_context, approver_context = (browser.new_context() for _ in range(3))
    for context in (visitor_context, editor_context, approver_context):
        context.set_default_timeout(60_000)
    try:
        # A customer subscribes to security updates only.
        visitor = visitor_context.new_page()
        visitor.goto(f"{site}/subscribe/")
        visitor.get_by_label("Your email").fill("cora@customer.example")
        for label in ("General", "Compliance", "Privacy", "Incident", "Roadmap"):
            visitor.get_by_label(label, exact=True).uncheck()
        visitor.get_by_role("button", name="Subscribe").click()
        visitor.get_by_role("heading", name="Check your inbox").wait_for()
        visitor.goto(link_in_mail("cora@customer.example", "/subscribe/confirm/"))
        visitor.get_by_role("button", name="Confirm").click()
        visitor.get_by_role("heading", name="You are subscribed").wait_for()
        assert Subscriber.objects.get().update_categories == ["security"]

        # The editor writes the update and asks for it.
        editor = editor_context.new_page()
        sign_in(editor, site, "edna")
        editor.goto(f"{site}/admin/compliance/update/add/")
        editor.fill("#id_title", "TLS 1.0 retired")
        editor.select_option("#id_category", "security")
        editor.fill("#id_body", "We no longer accept **TLS 1.0** <script>alert(1)</script>.")
        editor.fill("#id_change_reason", "announce the change")
        # The admin's script proposed a slug from the title when it lost focus; choose our own.
        editor.fill("#id_slug", "tls-1-0-retired")
        editor.click("input[name=_continue]")
        editor.get_by_test_id("update-state").wait_for()
        assert editor.get_by_test_id("update-state").inner_text() == "draft"
        editor.click("input[name=request_publication]")
        editor.wait_for_url(re.compile(r".*/admin/compliance/updaterequest/\d+/change/"))
        request_url = editor.url
        # The requester is offered no approval of their own request.
        assert editor.locator("input[name=approve]").count() == 0

        # Nothing is public yet.
        visitor.goto(f"{site}/")
        assert "TLS 1.0 retired" not in visitor.inner_text("main")
        assert visitor.goto(f"{site}/updates/tls-1-0-retired/").status == 404

        # The approver reads the frozen text and publishes it.
        approver = approver_context.new_page()
        sign_in(approver, site, "apollo")
        approver.goto(request_url)
        assert approver.get_by_test_id("frozen-title").inner_text() == "TLS 1.0 retired"
        assert "We no longer accept TLS 1.0 <script>alert(1)</script>." in approver.inner_text("#update-decision")
        approver.click("input[name=approve]")
        approver.wait_for_url(f"{site}/admin/compliance/updatepublication/")
        assert "“TLS 1.0 retired” is published." in approver.inner_text("ul.messagelist")

        # A visitor (a browser that has not cached the page for its max-age yet)
        # reads it on the page and follows it to its own page.
        reader = approver_context.new_page()
        reader.goto(f"{site}/")
        link = reader.locator("#updates").get_by_role("link", name="TLS 1.0 retired")
        assert link.get_attribute("href") == "/updates/tls-1-0-retired/"
        reader.goto(f"{site}/updates/tls-1-0-retired/", wait_until="domcontentloaded")
        assert "We no longer accept TLS 1.0 <script>alert(1)</script>." in reader.inner_text("main")
        assert reader.locator("main strong").inner_text() == "TLS 1.0"

        # The approval queued the notices; the worker's task mails the subscriber once.
        task = DBTaskResult.objects.get(task_path="subscriptions.tasks.send_update_notices")
        assert send_update_notices.call(**task.args_kwargs["kwargs"]) == 1
        assert send_update_notices.call(**task.args_kwargs["kwargs"]) == 0
        send_outbox()
        notices = [m for m in mail.outbox if m.subject == "Security update: TLS 1.0 retired"]
        assert [m.to for m in notices] == [["cora@customer.example"]]
        assert notices[0].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert UpdateNotice.objects.get().mail.status == "sent"
    finally:
        for context in (visitor_context, editor_context, approver_context):
            context.close()
