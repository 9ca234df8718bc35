"""Every change to what a staff account is or may do leaves a chained record.

A rename, a superuser, staff or active flag switched, a role (group) or a
permission given or taken: each writes a `StaffSecurityEvent` in the same
transaction. These are receivers of the user model's own signals, like the
evidence chain's, and for the same reason: the admin's user pages,
`createsuperuser`, `changepassword`'s siblings, the demo reset and a shell all
write users without a service of ours, and a missed change is exactly what
the record must not allow. They do no other work.

The actor is the signed-in user of the HTTP request being served (through
simple-history's request middleware), else none (a command or a shell).
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import models
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .models import StaffSecurityEvent, StaffSecurityEventKind

DISPATCH_UID = "accounts.account_changes"
# The user fields whose change is recorded, and the kinds for (turned on, turned off).
FLAGS = {
    "is_superuser": (StaffSecurityEventKind.SUPERUSER_GRANTED, StaffSecurityEventKind.SUPERUSER_REVOKED),
    "is_staff": (StaffSecurityEventKind.STAFF_GRANTED, StaffSecurityEventKind.STAFF_REVOKED),
    "is_active": (StaffSecurityEventKind.ACTIVATED, StaffSecurityEventKind.DEACTIVATED),
}
WATCHED = ("username", *FLAGS)


def _request_user() -> Any:
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _record(*, kind: str, subject: Any, detail: str = "") -> None:
    actor = _request_user()
    StaffSecurityEvent.objects.create(
        created_at=timezone.now(),
        kind=kind,
        actor=actor,
        actor_username=actor.get_username() if actor is not None else "",
        subject_user_id=subject.pk,
        subject_username=subject.get_username(),
        detail=detail[:300],
    )


def _before_user_saved(sender: type[models.Model], instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Remember the stored values of the watched fields (one query, and none
    for saves that touch none of them, such as the sign-in's last_login)."""
    update_fields = kwargs.get("update_fields")
    if raw or instance.pk is None or (update_fields is not None and not set(update_fields) & set(WATCHED)):
        instance._account_before = None
        return
    instance._account_before = sender._default_manager.filter(pk=instance.pk).values(*WATCHED).first()


def _after_user_saved(
    sender: type[models.Model], instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if raw:
        return
    if created:
        if instance.is_staff or instance.is_superuser:
            flags = ", ".join(name for name in ("is_staff", "is_superuser", "is_active") if getattr(instance, name))
            _record(kind=StaffSecurityEventKind.ACCOUNT_CREATED, subject=instance, detail=flags)
        return
    before = getattr(instance, "_account_before", None)
    if not before:
        return
    if before["username"] != instance.username:
        _record(
            kind=StaffSecurityEventKind.USERNAME_CHANGED,
            subject=instance,
            detail=f"{before['username']} → {instance.username}",
        )
    for name, (on, off) in FLAGS.items():
        if before[name] != getattr(instance, name):
            _record(kind=on if getattr(instance, name) else off, subject=instance)


def _membership_changed(
    *,
    instance: Any,
    action: str,
    reverse: bool,
    model: type[models.Model],
    pk_set: set[int] | None,
    accessor: str,
    added: str,
    removed: str,
    describe: Any,
) -> None:
    """One record per user and group (or permission) joined or left, whichever
    side the change was made from (`user.groups.add(g)`, `g.user_set.add(u)`)."""
    if action == "pre_clear":
        # What a clear removes is known only before it runs.
        related = getattr(instance, "user_set" if reverse else accessor)
        instance._account_cleared = set(related.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    kind = added if action == "post_add" else removed
    pks = getattr(instance, "_account_cleared", set()) if action == "post_clear" else (pk_set or set())
    if reverse:
        for user in get_user_model()._default_manager.filter(pk__in=pks).order_by("pk"):
            _record(kind=kind, subject=user, detail=describe(instance))
    else:
        related = model._default_manager.filter(pk__in=pks).order_by("pk")
        if model is Permission:
            related = related.select_related("content_type")
        for item in related:
            _record(kind=kind, subject=instance, detail=describe(item))


def _group_name(group: Group) -> str:
    return group.name


def _permission_name(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


def _memberships_changed(
    sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any, **kwargs: Any
) -> None:
    # From the user's side `model` is the group or permission; from theirs, `instance` is.
    groups = issubclass(type(instance) if reverse else model, Group)
    _membership_changed(
        instance=instance,
        action=action,
        reverse=reverse,
        model=model,
        pk_set=pk_set,
        accessor="groups" if groups else "user_permissions",
        added=StaffSecurityEventKind.GROUP_ADDED if groups else StaffSecurityEventKind.PERMISSION_ADDED,
        removed=StaffSecurityEventKind.GROUP_REMOVED if groups else StaffSecurityEventKind.PERMISSION_REMOVED,
        describe=_group_name if groups else _permission_name,
    )


def connect() -> None:
    User = get_user_model()
    pre_save.connect(_before_user_saved, sender=User, dispatch_uid=f"{DISPATCH_UID}.before")
    post_save.connect(_after_user_saved, sender=User, dispatch_uid=f"{DISPATCH_UID}.after")
    m2m_changed.connect(_memberships_changed, sender=User.groups.through, dispatch_uid=f"{DISPATCH_UID}.groups")
    m2m_changed.connect(
        _memberships_changed, sender=User.user_permissions.through, dispatch_uid=f"{DISPATCH_UID}.permissions"
    )
