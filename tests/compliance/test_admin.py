"""Editing page content in the admin: every save and delete carries a reason
and leaves exactly one history row naming the editor; history is shown with
field-level differences and can never be used to revert."""

import re
from typing import Any, TypeVar

import pytest
from django.conf import settings as django_settings
from django.db import models
from django.urls import reverse

from compliance.models import (
    Certification,
    ContactRoute,
    Control,
    DataHandlingRow,
    GdprFact,
    Organization,
    Section,
    Subprocessor,
    TrackedModel,
)
from core.history import system_actor
from tests.factories import new_row, published_page, save

REASON_REQUIRED = "Give a reason for this change; it is recorded in the history."


# model -> (a field an edit changes, its new value)
EDITS: dict[type[models.Model], tuple[str, Any]] = {
    Organization: ("legal_name", "Acme Cloud Ltd"),
    Section: ("title", "GDPR and privacy"),
    Certification: ("status", "in_progress"),
    Control: ("title", "TLS 1.3 only"),
    Subprocessor: ("location", "European Union"),
    DataHandlingRow: ("description", "Email address and display name"),
    GdprFact: ("body", "Contract performance and legitimate interest"),
    ContactRoute: ("email", "dpo@acme.test"),
}
ALL_MODELS = list(EDITS)
DELETABLE = [m for m in ALL_MODELS if m not in (Organization, Section)]


def url(model: type[models.Model], view: str, *args: Any) -> str:
    return reverse(f"admin:compliance_{model._meta.model_name}_{view}", args=args)


def form_data(obj: models.Model, **changes: Any) -> dict[str, Any]:
    """The POST an admin change form sends for `obj`, with `changes` applied."""
    data: dict[str, Any] = {}
    for field in obj._meta.fields:
        if field.primary_key or not field.editable:
            continue
        value = getattr(obj, field.attname)
        if isinstance(field, models.BooleanField):
            if value:
                data[field.name] = "on"
            continue
        data[field.name] = "" if value is None else value
    data.update(changes)
    return data


_Tracked = TypeVar("_Tracked", bound=TrackedModel)


def counts(model: type[TrackedModel]) -> tuple[int, int]:
    return model.objects.count(), model.history.count()


def existing(model: type[_Tracked]) -> _Tracked:
    """A saved row, written by someone other than the editor under test."""
    return save(new_row(model, system_actor()), system_actor(), "set up by the system")


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_admin_create_leaves_one_history_row_with_editor_and_reason(db, editor, editor_client, model):
    obj = new_row(model, system_actor())

    response = editor_client.post(url(model, "add"), {**form_data(obj), "change_reason": "new item for the page"})

    assert response.status_code == 302
    assert response["Location"] == url(model, "changelist")
    created = model.objects.get()
    rows = list(model.history.all())
    assert [(r.id, r.history_type, r.history_user, r.history_change_reason) for r in rows] == [
        (created.pk, "+", editor, "new item for the page")
    ]


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_admin_update_leaves_one_history_row_with_editor_and_reason(db, editor, editor_client, model):
    obj = existing(model)
    field, new_value = EDITS[model]
    before = counts(model)

    response = editor_client.post(
        url(model, "change", obj.pk),
        {**form_data(obj, **{field: new_value}), "change_reason": "  corrected after review  "},
    )

    assert response.status_code == 302
    obj.refresh_from_db()
    assert getattr(obj, field) == new_value
    assert counts(model) == (before[0], before[1] + 1)
    latest = model.history.filter(id=obj.pk).latest("history_date")
    assert (latest.history_type, latest.history_user, latest.history_change_reason) == (
        "~",
        editor,
        "corrected after review",
    )


@pytest.mark.parametrize("model", DELETABLE, ids=lambda m: m.__name__)
def test_admin_delete_leaves_one_history_row_with_editor_and_reason(db, editor, editor_client, model):
    obj = existing(model)
    pk = obj.pk
    history_before = model.history.count()

    response = editor_client.post(url(model, "delete", pk), {"post": "yes", "change_reason": "no longer used"})

    assert response.status_code == 302
    assert model.objects.filter(pk=pk).exists() is False
    assert model.history.count() == history_before + 1
    latest = model.history.filter(id=pk).latest("history_date")
    assert (latest.history_type, latest.history_user, latest.history_change_reason) == ("-", editor, "no longer used")


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("reason", ["", "   \n  "], ids=["empty", "blank"])
def test_admin_create_without_reason_is_refused_and_changes_nothing(db, editor_client, model, reason):
    obj = new_row(model, system_actor())
    before = counts(model)

    response = editor_client.post(url(model, "add"), {**form_data(obj), "change_reason": reason})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"change_reason": [REASON_REQUIRED]}
    assert REASON_REQUIRED in response.content.decode()
    assert counts(model) == before


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_admin_update_without_reason_is_refused_and_changes_nothing(db, editor_client, model):
    obj = existing(model)
    field, new_value = EDITS[model]
    old_value = getattr(obj, field)
    before = counts(model)

    response = editor_client.post(url(model, "change", obj.pk), form_data(obj, **{field: new_value}))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"change_reason": [REASON_REQUIRED]}
    obj.refresh_from_db()
    assert getattr(obj, field) == old_value
    assert counts(model) == before


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_admin_save_that_changes_nothing_is_refused(db, editor_client, model):
    obj = existing(model)
    before = counts(model)

    response = editor_client.post(url(model, "change", obj.pk), {**form_data(obj), "change_reason": "just checking"})

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "Nothing has changed, so there is nothing to record."
    ]
    assert counts(model) == before


@pytest.mark.parametrize("model", DELETABLE, ids=lambda m: m.__name__)
def test_admin_delete_without_reason_is_refused_and_changes_nothing(db, editor_client, model):
    obj = existing(model)
    before = counts(model)

    response = editor_client.post(url(model, "delete", obj.pk), {"post": "yes", "change_reason": " "}, follow=True)

    assert response.redirect_chain == [(url(model, "delete", obj.pk), 302)]
    assert messages_of(response) == [REASON_REQUIRED]
    assert counts(model) == before


@pytest.mark.parametrize("model", [Organization, Section], ids=lambda m: m.__name__)
def test_organization_and_sections_cannot_be_deleted_in_admin(db, editor_client, model):
    obj = existing(model)
    before = counts(model)

    get = editor_client.get(url(model, "delete", obj.pk))
    post = editor_client.post(url(model, "delete", obj.pk), {"post": "yes", "change_reason": "tidy up"})

    assert (get.status_code, post.status_code) == (403, 403)
    assert counts(model) == before
    change_form = editor_client.get(url(model, "change", obj.pk)).content.decode()
    assert url(model, "delete", obj.pk) not in change_form


def test_second_organization_cannot_be_added(db, editor_client):
    existing(Organization)
    second = Organization(
        name="Other", legal_name="Other Inc", intro="x", contact_email="a@other.test", security_email="b@other.test"
    )
    before = counts(Organization)

    get = editor_client.get(url(Organization, "add"))
    post = editor_client.post(url(Organization, "add"), {**form_data(second), "change_reason": "second one"})
    index = editor_client.get(reverse("admin:index")).content.decode()

    assert (get.status_code, post.status_code) == (403, 403)
    assert counts(Organization) == before
    assert url(Organization, "add") not in index
    assert url(Certification, "add") in index


def test_organization_list_opens_the_one_organization(db, editor_client):
    org = existing(Organization)

    response = editor_client.get(url(Organization, "changelist"))

    assert (response.status_code, response["Location"]) == (302, url(Organization, "change", org.pk))


def test_first_organization_can_be_added(db, editor_client):
    changelist = editor_client.get(url(Organization, "changelist")).content.decode()

    assert url(Organization, "add") in changelist


def test_staff_user_without_the_editor_role_is_refused(db, make_staff, client):
    client.force_login(make_staff("outsider"))
    obj = existing(Certification)
    before = counts(Certification)

    responses = [
        client.get(url(Certification, "changelist")).status_code,
        client.post(
            url(Certification, "change", obj.pk), {**form_data(obj, name="Hacked"), "change_reason": "x"}
        ).status_code,
        client.post(url(Certification, "delete", obj.pk), {"post": "yes", "change_reason": "x"}).status_code,
        client.get(url(Certification, "history", obj.pk)).status_code,
        client.get(url(Certification, "simple_history", obj.pk, obj.history.get().history_id)).status_code,
    ]

    assert responses == [403, 403, 403, 403, 403]
    assert counts(Certification) == before


def test_bulk_delete_action_is_not_offered(db, editor_client):
    obj = existing(Certification)

    response = editor_client.post(
        url(Certification, "changelist"),
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
    )

    assert response.context["action_form"] is None
    assert Certification.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_reason_field_is_the_last_field_of_the_change_form(db, editor_client, model):
    obj = existing(model)

    response = editor_client.get(url(model, "change", obj.pk))

    fieldsets = response.context["adminform"].fieldsets
    assert fieldsets[-1] == ("Reason for change", {"fields": ["change_reason"], "classes": ["reason-for-change"]})
    assert all("change_reason" not in opts["fields"] for _, opts in fieldsets[:-1])
    html = response.content.decode()
    assert html.index('name="change_reason"') > max(html.index(f'name="{name}"') for name in form_data(obj))


def test_change_form_puts_content_first_then_placement_then_reason(db, editor_client):
    control = existing(Control)

    response = editor_client.get(url(Control, "change", control.pk))

    assert [(name, opts["fields"]) for name, opts in response.context["adminform"].fieldsets] == [
        (None, ["section", "group", "title", "body", "status"]),
        ("Place on the page", ["position", "is_active", "slug"]),
        ("Reason for change", ["change_reason"]),
    ]


def test_controls_are_listed_in_page_order(db, editor_client, seeded):
    response = editor_client.get(url(Control, "changelist"))

    titles = [c.title for c in response.context["cl"].result_list]
    assert titles[:2] == ["TLS 1.2+ enforced on all connections", "HTTPS-only"]
    assert titles[-1] == "Safe harbor"
    assert titles.index("P1 security incidents") < titles.index("Report vulnerabilities")


def test_reordering_is_an_edit_of_position_with_a_reason(db, editor, editor_client, seeded, client):
    iso = Certification.objects.get(slug="iso-27001")
    first = Certification.objects.order_by("position").first()
    assert first.slug != "iso-27001"

    response = editor_client.post(
        url(Certification, "change", iso.pk),
        {**form_data(iso, position=first.position - 1), "change_reason": "lead with ISO"},
    )

    assert response.status_code == 302
    page = published_page(client)
    assert page.index(">ISO 27001</h3>") < page.index(f">{first.name}</h3>")
    latest = iso.history.latest("history_date")
    assert (latest.history_user, latest.history_change_reason) == (editor, "lead with ISO")


def test_retiring_an_item_hides_it_from_the_page_and_keeps_its_history(db, editor_client, seeded, client):
    stripe = Subprocessor.objects.get(name="Stripe")

    editor_client.post(
        url(Subprocessor, "change", stripe.pk),
        {**form_data(stripe, is_active=False), "change_reason": "provider replaced"},
    )

    page = client.get("/").content.decode()
    assert '<th scope="row">Stripe</th>' not in page
    assert Subprocessor.objects.filter(pk=stripe.pk, is_active=False).exists()
    assert [r.history_change_reason for r in stripe.history.order_by("history_date")] == [
        "initial content import",
        "provider replaced",
    ]


# --- history view ----------------------------------------------------------


def test_history_view_shows_field_level_differences_and_reasons(db, editor, editor_client):
    cert = existing(Certification)
    editor_client.post(
        url(Certification, "change", cert.pk),
        {**form_data(cert, target="Q2 2027", status="in_progress"), "change_reason": "auditor engaged"},
    )

    html = editor_client.get(url(Certification, "history", cert.pk)).content.decode()

    assert (
        '<li><strong>Status:</strong>\n            <del><span class="visually-hidden">was </span>Planned</del>\n'
        '            &rarr;\n            <ins><span class="visually-hidden">now </span>In progress</ins></li>'
    ) in html
    assert '<del><span class="visually-hidden">was </span>2027</del>' in html
    assert '<ins><span class="visually-hidden">now </span>Q2 2027</ins>' in html
    assert "<td>edna</td>\n      <td>auditor engaged</td>" in html
    assert "<td>system</td>\n      <td>set up by the system</td>" in html


def test_history_view_shows_retiring_as_a_yes_no_change(db, editor_client):
    cert = existing(Certification)
    editor_client.post(
        url(Certification, "change", cert.pk), {**form_data(cert, is_active=False), "change_reason": "retired"}
    )

    html = editor_client.get(url(Certification, "history", cert.pk)).content.decode()

    assert "<strong>Shown on the page:</strong>" in html
    assert '<del><span class="visually-hidden">was </span>yes</del>' in html
    assert '<ins><span class="visually-hidden">now </span>no</ins>' in html


def test_history_view_offers_no_revert(db, editor_client):
    assert django_settings.SIMPLE_HISTORY_REVERT_DISABLED is True
    cert = existing(Certification)
    version = cert.history.get()

    history = editor_client.get(url(Certification, "history", cert.pk)).content.decode()
    version_page = editor_client.get(url(Certification, "simple_history", cert.pk, version.history_id))

    assert "revert" not in history.lower()
    assert version_page.status_code == 200
    html = version_page.content.decode()
    assert "revert" not in html.lower()
    assert 'name="_save"' not in html
    assert 'name="change_reason"' not in html
    assert re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]*)</td></tr>', html) == [
        ("Change", "Created"),
        ("Changed by", "system"),
        ("Reason for change", "set up by the system"),
        ("Slug", "iso-27001"),
        ("Position", "100"),
        ("Shown on the page", "Yes"),
        ("Name", "ISO 27001"),
        ("Status", "Planned"),
        ("Target", "2027"),
        ("Description", "-"),
    ]


def test_posting_to_a_history_version_does_not_revert(db, editor_client):
    cert = existing(Certification)
    old_version = cert.history.get()
    cert.name = "ISO/IEC 27001:2022"
    save(cert, system_actor(), "renamed")
    before = counts(Certification)

    response = editor_client.post(
        url(Certification, "simple_history", cert.pk, old_version.history_id),
        {**form_data(old_version.instance), "change_reason": "go back", "_save": "Revert"},
    )

    assert response.status_code == 405
    cert.refresh_from_db()
    assert cert.name == "ISO/IEC 27001:2022"
    assert counts(Certification) == before


def test_deleted_item_history_is_still_viewable(db, editor_client):
    cert = existing(Certification)
    pk = cert.pk
    editor_client.post(url(Certification, "delete", pk), {"post": "yes", "change_reason": "dropped"})

    html = editor_client.get(url(Certification, "history", pk)).content.decode()

    assert "Deleted" in html
    assert "dropped" in html


# --- content is text, never markup -------------------------------------------

HOSTILE = '<script>alert("x")</script><b onmouseover="x()">bold</b>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b onmouseover=&quot;x()&quot;&gt;bold&lt;/b&gt;"


def test_markup_in_content_is_shown_as_text_in_admin(db, editor_client):
    cert = save(Certification(slug="xss", name=f"ISO {HOSTILE}", status="planned", description="plain"), system_actor())
    editor_client.post(
        url(Certification, "change", cert.pk),
        {**form_data(cert, description=HOSTILE), "change_reason": f"why {HOSTILE}"},
    )

    pages = {
        "changelist": editor_client.get(url(Certification, "changelist")),
        "change form": editor_client.get(url(Certification, "change", cert.pk)),
        "history": editor_client.get(url(Certification, "history", cert.pk)),
        "version": editor_client.get(
            url(Certification, "simple_history", cert.pk, cert.history.latest("history_date").history_id)
        ),
        "delete confirmation": editor_client.get(url(Certification, "delete", cert.pk)),
    }

    for name, response in pages.items():
        html = response.content.decode()
        assert ESCAPED in html, name
        assert "<script>alert" not in html, name
        assert "<b onmouseover" not in html, name
