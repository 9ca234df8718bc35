"""The Auditor reads everything that is content or evidence, and can change nothing."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from simple_history.admin import SimpleHistoryAdmin

from compliance.models import CONTENT_MODELS, Control
from compliance.services import content_save
from evidence.models import ChainLink

pytestmark = pytest.mark.django_db


def test_auditor_role_has_exactly_view_permissions():
    perms = sorted(
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name="Auditor").permissions.select_related("content_type")
    )
    content = [m._meta.model_name for m in CONTENT_MODELS]
    assert perms == sorted(
        [f"compliance.view_{m}" for m in content]
        + [f"compliance.view_historical{m}" for m in content]
        + ["compliance.view_publication", "compliance.view_publicationrequest",
           "evidence.view_auditlog", "evidence.export_auditlog", "evidence.view_chainlink",
           "evidence.view_chainhead", "evidence.view_chainschema", "evidence.view_purgerecord"]
    )
    assert not [p for p in perms if p.split(".")[1].startswith(("add_", "change_", "delete_"))]


@pytest.mark.parametrize("role", ["Compliance editor", "Compliance approver"])
def test_editors_and_approvers_may_read_the_audit_log(role):
    perms = set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))
    assert "view_auditlog" in perms and "export_auditlog" not in perms


def _url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None  # the admin offers no such page for this model: nothing to refuse


def _snapshot_of_writes():
    return ChainLink.objects.count()


def test_auditor_cannot_add_change_delete_revert_or_act_in_any_admin(seeded, auditor, client):
    client.force_login(auditor)
    request = RequestFactory().get("/admin/")
    request.user = auditor
    links_before = _snapshot_of_writes()
    checked = []
    for model, model_admin in admin.site._registry.items():
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        obj = model._default_manager.order_by("pk").first()
        pk = str(obj.pk) if obj is not None else "999999"
        targets = [
            ("GET", _url(f"{info}_add")), ("POST", _url(f"{info}_add")),
            ("POST", _url(f"{info}_change", pk)),
            ("GET", _url(f"{info}_delete", pk)), ("POST", _url(f"{info}_delete", pk)),
        ]
        if isinstance(model_admin, SimpleHistoryAdmin) and obj is not None:
            version = model.history.filter(pk=obj.pk).values_list("history_id", flat=True).first()  # type: ignore[attr-defined]
            targets.append(("POST", _url(f"{info}_simple_history", pk, version)))
        for method, url in targets:
            if url is None:
                continue
            data = {"change_reason": "auditor tries", "post": "yes"}
            response = client.post(url, data) if method == "POST" else client.get(url)
            assert response.status_code == 403, (method, url, response.status_code)
            checked.append(url)
        # No admin action is offered, and posting one anyway does nothing.
        assert model_admin.get_actions(request) == {}, model
        changelist = _url(f"{info}_changelist")
        if changelist and obj is not None:
            for action in [name for _, name, _ in (model_admin._get_base_actions())] + ["delete_selected"]:
                response = client.post(changelist, {"action": action, "_selected_action": [pk], "post": "yes",
                                                    "change_reason": "auditor tries"})
                assert response.status_code in (200, 302, 403)
                assert model._default_manager.filter(pk=obj.pk).exists(), (model, action)
    assert _snapshot_of_writes() == links_before
    assert len(checked) > 5 * len(CONTENT_MODELS)


def test_auditor_views_content_changelists_history_and_audit_log(seeded, auditor_client, editor):
    control = Control.objects.get(slug="tls-12")
    control.title = "TLS 1.3 enforced on all connections"
    content_save(obj=control, actor=editor, reason="TLS 1.2 retired")
    for model in CONTENT_MODELS:
        response = auditor_client.get(reverse(f"admin:compliance_{model._meta.model_name}_changelist"))
        assert response.status_code == 200
        obj = model.objects.order_by("pk").first()
        assert escape(str(obj)) in response.content.decode()
    history = auditor_client.get(reverse("admin:compliance_control_history", args=[control.pk]))
    assert history.status_code == 200
    assert "TLS 1.2 retired" in history.content.decode()
    version = control.history.last().history_id
    past = auditor_client.get(reverse("admin:compliance_control_simple_history", args=[control.pk, version]))
    assert past.status_code == 200
    assert "TLS 1.2+ enforced on all connections" in past.content.decode()
    log = auditor_client.get("/admin/evidence/auditlog/")
    assert log.status_code == 200 and "TLS 1.2 retired" in log.content.decode()
    purges = auditor_client.get(reverse("admin:evidence_purgerecord_changelist"))
    assert purges.status_code == 200


def test_reverting_from_history_is_refused_even_for_editors(seeded, editor_client):
    control = Control.objects.get(slug="tls-12")
    version = control.history.first().history_id
    response = editor_client.post(
        reverse("admin:compliance_control_simple_history", args=[control.pk, version]),
        {"change_reason": "revert", "title": "reverted"},
    )
    assert response.status_code == 403
    assert Control.objects.get(pk=control.pk).title == "TLS 1.2+ enforced on all connections"
