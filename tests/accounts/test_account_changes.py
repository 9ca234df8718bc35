"""Renames, role and permission changes and the superuser, staff and active
flags of staff accounts leave chained StaffSecurityEvent records."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from accounts.models import StaffSecurityEvent
from evidence.models import ChainLink
from evidence.verify import verify_chain

pytestmark = pytest.mark.django_db


def recorded_since(last_id: int) -> list[tuple[str, str, str, str]]:
    events = StaffSecurityEvent.objects.filter(id__gt=last_id).order_by("id")
    return [(e.kind, e.subject_username, e.detail, e.actor_username) for e in events]


def last_event_id() -> int:
    return StaffSecurityEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_creating_a_staff_account_with_a_role_is_recorded(make_staff):
    start = last_event_id()
    make_staff("kim", "Auditor")
    assert recorded_since(start) == [
        ("account_created", "kim", "is_staff, is_active", ""),
        ("group_added", "kim", "Auditor", ""),
    ]


def test_rename_roles_permissions_and_flags_are_chained(make_staff):
    user = make_staff("kim", "Auditor")
    start = last_event_id()

    user.username = "kimberly"
    user.save()
    user.groups.add(Group.objects.get(name="Request handler"))
    Group.objects.get(name="Auditor").user_set.remove(user)
    user.user_permissions.add(Permission.objects.get(codename="change_ticket"))
    user.user_permissions.clear()
    user.is_superuser = True
    user.save()
    user.is_staff = False
    user.is_active = False
    user.save()

    assert recorded_since(start) == [
        ("username_changed", "kimberly", "kim → kimberly", ""),
        ("group_added", "kimberly", "Request handler", ""),
        ("group_removed", "kimberly", "Auditor", ""),
        ("permission_added", "kimberly", "requests_app.change_ticket", ""),
        ("permission_removed", "kimberly", "requests_app.change_ticket", ""),
        ("superuser_granted", "kimberly", "", ""),
        ("staff_revoked", "kimberly", "", ""),
        ("deactivated", "kimberly", "", ""),
    ]
    events = StaffSecurityEvent.objects.filter(id__gt=start)
    linked = ChainLink.objects.filter(model_label="accounts.staffsecurityevent", row_pk__in=events.values("id"))
    assert linked.count() == 8
    assert verify_chain().ok
    assert StaffSecurityEvent.objects.get(id__gt=start, kind="username_changed").summary == (
        "Username changed (kim → kimberly) for kimberly"
    )


def test_a_sign_in_records_nothing(make_staff):
    user = make_staff("kim", "Auditor")
    start = last_event_id()
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    user.first_name = "Kim"
    user.save()
    assert recorded_since(start) == []


def test_a_change_in_the_admin_names_who_made_it(make_staff, client):
    admin = make_staff("root", superuser=True)
    user = make_staff("kim", "Auditor")
    client.force_login(admin)
    start = last_event_id()
    response = client.post(
        f"/admin/auth/user/{user.pk}/change/",
        {
            "username": "kim2",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [Group.objects.get(name="Auditor").pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert recorded_since(start) == [
        ("username_changed", "kim2", "kim → kim2", "root"),
        ("superuser_granted", "kim2", "", "root"),
    ]
