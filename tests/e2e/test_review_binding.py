"""In a real browser: an approver reviews a publication request, an editor
edits the draft meanwhile, the approver approves. What goes live is what the
approver reviewed; the later edit is not public."""

import pytest

from compliance import services
from compliance.models import Subprocessor
from compliance.services import publication_publish_initial, seed_load, system_actor
from tests.factories import SEED_DATA, save

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-battery"


@pytest.fixture
def site(transactional_db, django_db_serialized_rollback, live_server, django_user_model):
    seed_load(data=SEED_DATA, actor=system_actor())
    publication_publish_initial(actor=system_actor())
    return live_server.url


def sign_in(page, site: str, username: str) -> None:
    page.goto(f"{site}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{site}/admin/")


def test_the_approver_publishes_what_they_reviewed_not_a_later_edit(site, browser, django_user_model):
    editor = django_user_model.objects.create_superuser("edna", "edna@example.com", PASSWORD)
    django_user_model.objects.create_superuser("apollo", "apollo@example.com", PASSWORD)
    save(Subprocessor(slug="fly", name="Fly.io", purpose="Compute"), editor, "new provider")
    request = services.publication_request(summary="Add Fly.io", actor=editor)

    approver_context = browser.new_context()
    editor_context = browser.new_context()
    try:
        approver = approver_context.new_page()
        sign_in(approver, site, "apollo")
        approver.goto(f"{site}/admin/compliance/publicationrequest/{request.pk}/change/")
        review = approver.inner_text("#publication-decision")
        assert "Subprocessor added: Fly.io" in review
        assert "Render" not in review

        # Meanwhile, the editor adds another provider to the draft in the admin.
        author = editor_context.new_page()
        sign_in(author, site, "edna")
        author.goto(f"{site}/admin/compliance/subprocessor/add/")
        author.fill("#id_slug", "render")
        author.fill("#id_name", "Render")
        author.fill("#id_purpose", "Web hosting")
        author.fill("#id_change_reason", "second provider")
        author.click("input[name=_save]")
        author.wait_for_url(f"{site}/admin/compliance/subprocessor/")

        # The approver approves from the page they reviewed.
        approver.click("input[name=approve]")
        approver.wait_for_url(f"{site}/admin/compliance/publication/")
        assert "Version 2 is live." in approver.inner_text("ul.messagelist")

        visitor = approver_context.new_page()
        visitor.goto(f"{site}/")
        public = visitor.inner_text("main")
        assert ("Fly.io" in public, "Render" in public) == (True, False)
        assert Subprocessor.objects.filter(slug="render").exists()

        # The editor's later edit waits for its own request, and the review says so.
        approver.goto(f"{site}/admin/compliance/publicationrequest/add/")
        assert "Subprocessor added: Render" in approver.inner_text("#content")
    finally:
        approver_context.close()
        editor_context.close()
