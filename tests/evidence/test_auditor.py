"""The Auditor reads everything that is content or evidence, and can change nothing."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from simple_history.admin import SimpleHistoryAdmin

from compliance.models import CONTENT_MODELS, Certification, Control
from compliance.services import content_save, publication_publish_initial, publication_request
from core.history import system_actor
from evidence.models import ChainHead

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
        + [
            "compliance.view_publication",
            "compliance.view_publicationrequest",
            "compliance.view_update",
            "compliance.view_historicalupdate",
            "compliance.view_updaterequest",
            "compliance.view_updatepublication",
            "requests_app.view_ticketaudit",
            "requests_app.view_ticketevent",
            "evidence.view_auditlog",
            "evidence.export_auditlog",
            "evidence.view_chainlink",
            "evidence.view_chainhead",
            "evidence.view_chainschema",
            "evidence.view_purgerecord",
            "documents.view_ndaversion",
            "documents.view_ndaapproval",
            "documents.view_ndaacceptance",
            "documents.view_documentgrant",
            "documents.view_documentdownload",
            "subscriptions.view_subprocessornotice",
            "subscriptions.view_subprocessorobjection",
            "subscriptions.view_publicationnotices",
            "subscriptions.view_contactnotice",
            "subscriptions.view_updatenotice",
            "customers.view_customer",
            "customers.view_contact",
            "customers.view_customeragreement",
            "customers.view_incident",
            "customers.view_incidentnotice",
            "customers.export_incident",
        ]
    )
    assert not [p for p in perms if p.split(".")[1].startswith(("add_", "change_", "delete_", "notify_"))]


@pytest.mark.parametrize("role", ["Compliance editor", "Compliance approver"])
def test_editors_and_approvers_may_read_the_audit_log(role):
    perms = set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))
    assert "view_auditlog" in perms and "export_auditlog" not in perms


def _url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None  # the admin offers no such page for this model: nothing to refuse


def _database_state() -> dict[str, int]:
    return {m._meta.label: m._base_manager.count() for m in apps.get_models()} | {
        "chain head": ChainHead.objects.get().seq
    }


# Pages that only read: a POST there changes nothing by construction (checked below).
READ_ONLY_SUFFIXES = ("_changelist", "_history")
FORM_DATA = {
    "change_reason": "auditor tries",
    "post": "yes",
    "summary": "auditor tries",
    "reason": "auditor tries",
    "title": "auditor was here",
    "name": "auditor was here",
}


def _every_admin_url(model, model_admin, obj, version) -> list[tuple[str, str]]:
    """(url name, url) for every named URL the model's admin serves, with the
    object's id (and a history version) filled in."""
    found = []
    object_id = obj.pk if obj is not None else 999999
    for pattern in model_admin.urls:
        if not getattr(pattern, "name", None):
            continue
        regex = pattern.pattern.regex
        names = list(getattr(pattern.pattern, "converters", {})) or list(regex.groupindex)
        if names:
            values = {key: version if key == "version_id" else object_id for key in names}
            if None in values.values():
                continue
            found.append((pattern.name, reverse(f"admin:{pattern.name}", kwargs=values)))
        else:  # positional groups (simple-history's history form): the object, then the version
            args = [object_id, version][: regex.groups]
            if None in args:
                continue
            found.append((pattern.name, reverse(f"admin:{pattern.name}", args=args)))
    return found


def test_auditor_cannot_add_change_delete_revert_or_act_in_any_admin(seeded, auditor, editor, client):
    client.force_login(auditor)
    request = RequestFactory().get("/admin/")
    request.user = auditor
    publication_publish_initial(actor=system_actor())
    cert = Certification.objects.earliest("pk")
    cert.target = "soon"
    content_save(obj=cert, actor=editor, reason="pending change")
    publication_request(summary="pending", actor=editor)
    before = _database_state()
    refused = []
    for model, model_admin in admin.site._registry.items():
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        obj = model._default_manager.order_by("pk").first()
        version = None
        if isinstance(model_admin, SimpleHistoryAdmin) and obj is not None:
            version = (
                # Every SimpleHistoryAdmin model has `history`; the registry types them as plain models.
                model.history.filter(  # type: ignore[attr-defined]
                    **{model._meta.pk.attname: obj.pk}
                )
                .values_list("history_id", flat=True)
                .first()
            )
        for name, url in _every_admin_url(model, model_admin, obj, version):
            if name.endswith(READ_ONLY_SUFFIXES) and not name.endswith("_simple_history"):
                continue
            response = client.post(url, FORM_DATA)
            if name.endswith(("_add", "_change", "_delete", "_simple_history")):
                assert response.status_code in (403, 405), ("POST", url, response.status_code)
            # Other pages of an admin (approve, export, ...) may answer otherwise;
            # that they changed nothing is checked once all have been tried.
            refused.append(url)
        for page in (_url(f"{info}_add"), _url(f"{info}_delete", obj.pk if obj else 999999)):
            if page is not None:
                assert client.get(page).status_code == 403, ("GET", page)
        # Where the auditor may look, no admin action is offered; posting one
        # anyway (here or elsewhere) does nothing.
        if model_admin.has_view_or_change_permission(request):
            assert model_admin.get_actions(request) == {}, model
        changelist = _url(f"{info}_changelist")
        if changelist and obj is not None:
            # Every action the admin defines, before the permission filter that get_actions applies.
            base_actions = model_admin._get_base_actions()  # type: ignore[attr-defined]
            for action in [name for _, name, _ in base_actions] + ["delete_selected"]:
                client.post(changelist, {**FORM_DATA, "action": action, "_selected_action": [obj.pk]})
        history = _url(f"{info}_history", obj.pk) if obj is not None else None
        if history:
            client.post(history, FORM_DATA)
    assert _database_state() == before
    assert LogEntry.objects.count() == 0
    names = {url.split("/admin/")[1].split("/")[1] for url in refused}
    assert {m._meta.model_name for m in CONTENT_MODELS} | {"publicationrequest"} <= names
    assert any(url.endswith("/approve/") for url in refused) and any("/history/" in url for url in refused)


def test_auditor_views_content_changelists_history_and_audit_log(seeded, auditor_client, editor):
    control = Control.objects.get(slug="tls-12")
    control.title = "TLS 1.3 enforced on all connections"
    content_save(obj=control, actor=editor, reason="TLS 1.2 retired")
    for model in CONTENT_MODELS:
        response = auditor_client.get(reverse(f"admin:compliance_{model._meta.model_name}_changelist"), follow=True)
        assert response.status_code == 200
        obj = model.objects.order_by("pk").first()
        if obj is not None:  # the seed has no documents
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
    assert response.status_code in (403, 405)
    assert Control.objects.get(pk=control.pk).title == "TLS 1.2+ enforced on all connections"
