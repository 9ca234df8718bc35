from django.db import migrations

# A frozen copy of what this migration needs from accounts.roles as it stood
# when the migration was written: later edits of that module must not change
# what a fresh install gets.
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


def crud(app_label, models, verbs):
    return [f"{app_label}.{verb}_{model}" for model in models for verb in verbs]


def sync_roles(apps, roles):
    """Make each named group hold exactly the listed permissions (historical models)."""
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


ROLES = {
    COMPLIANCE_EDITOR: crud("compliance", CONTENT_MODELS, ("add", "change", "delete", "view")),
}


def forwards(apps, schema_editor):
    sync_roles(apps, ROLES)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("compliance", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
