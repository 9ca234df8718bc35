"""Roles are one table; every migrate makes each role group exactly that table."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management.sql import emit_post_migrate_signal

from accounts.roles import AUDITOR, COMPLIANCE_EDITOR, REQUEST_HANDLER, ROLES, UnknownPermission, roles_sync

pytestmark = pytest.mark.django_db


def held(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {
        f"{app}.{codename}" for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def perm(name: str) -> Permission:
    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def test_after_migrate_every_role_holds_exactly_its_row_of_the_table():
    assert {name: held(name) for name in ROLES} == {name: set(perms) for name, perms in ROLES.items()}


def test_the_sync_removes_what_was_added_by_hand_and_restores_what_was_removed():
    auditor = Group.objects.get(name=AUDITOR)
    auditor.permissions.add(perm("compliance.change_subprocessor"))
    Group.objects.get(name=REQUEST_HANDLER).permissions.remove(perm("documents.revoke_documentgrant"))

    changes = roles_sync()

    assert changes[AUDITOR] == ([], ["compliance.change_subprocessor"])
    assert changes[REQUEST_HANDLER] == (["documents.revoke_documentgrant"], [])
    assert changes[COMPLIANCE_EDITOR] == ([], [])
    assert {name: held(name) for name in ROLES} == {name: set(perms) for name, perms in ROLES.items()}
    assert all(change == ([], []) for change in roles_sync().values())  # idempotent


def test_migrate_applies_the_table(caplog):
    Group.objects.get(name=AUDITOR).permissions.add(perm("compliance.delete_control"))
    Group.objects.get(name=COMPLIANCE_EDITOR).delete()

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")  # what every `migrate` ends with

    assert {name: held(name) for name in ROLES} == {name: set(perms) for name, perms in ROLES.items()}
    assert [r.getMessage() for r in caplog.records if r.name == "accounts.roles"] == [
        f"Role Compliance editor: added {sorted(ROLES[COMPLIANCE_EDITOR])}, removed none",
        "Role Auditor: added none, removed ['compliance.delete_control']",
    ]


def test_a_role_naming_an_unknown_permission_changes_nothing():
    Group.objects.get(name=AUDITOR).permissions.add(perm("compliance.change_subprocessor"))
    roles = {**ROLES, AUDITOR: ROLES[AUDITOR] | {"evidence.delete_chainlinks"}}

    with pytest.raises(UnknownPermission, match=r"evidence\.delete_chainlinks"):
        roles_sync(roles=roles)
    assert "compliance.change_subprocessor" in held(AUDITOR)


def test_groups_outside_the_table_are_left_alone():
    legal = Group.objects.create(name="Legal")
    legal.permissions.add(perm("requests_app.view_ticket"))
    roles_sync()
    assert held("Legal") == {"requests_app.view_ticket"}
