"""Staff roles, as groups with exactly the permissions their work needs.

Groups are created and kept exact by migrations: each migration that changes a
role passes the full definition of that role at that point to `sync_roles`;
roles it does not name are left as they are.
A permission is named "app_label.codename".
"""

from typing import Any

COMPLIANCE_EDITOR = "Compliance editor"
COMPLIANCE_APPROVER = "Compliance approver"
REQUEST_HANDLER = "Request handler"
AUDITOR = "Auditor"

CONTENT_MODELS = (
    "organization",
    "section",
    "certification",
    "control",
    "subprocessor",
    "datahandlingrow",
    "gdprfact",
    "contactroute",
)


def crud(app_label: str, models: tuple[str, ...], verbs: tuple[str, ...]) -> list[str]:
    return [f"{app_label}.{verb}_{model}" for model in models for verb in verbs]


def sync_roles(apps: Any, roles: dict[str, list[str]]) -> None:
    """Make each named group hold exactly the listed permissions.

    Works with the historical app registry of a migration. Raises LookupError
    when a named permission does not exist, so a typo cannot pass silently.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in roles.items():
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            try:
                wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
            except Permission.DoesNotExist as exc:
                raise LookupError(f"Role {name!r} names unknown permission {perm!r}") from exc
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(wanted)
