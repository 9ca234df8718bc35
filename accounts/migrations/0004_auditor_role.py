"""The Auditor role: read-only access to all page content, its history, the
publications and their requests, ticket events, and the evidence ledger; no
add, change or delete permission anywhere. Editors and approvers may read the
audit log too.
"""

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


# Everything on the page, documents included.
AUDITED_CONTENT = CONTENT_MODELS + ("document",)

FULL_DICT = {
    COMPLIANCE_EDITOR: crud("compliance", CONTENT_MODELS, ("add", "change", "delete", "view"))
    + [
        "compliance.preview_draft",
        "compliance.request_publication",
        "compliance.view_publication",
        "compliance.view_publicationrequest",
        "evidence.view_auditlog",
    ],
    COMPLIANCE_APPROVER: crud("compliance", CONTENT_MODELS, ("view",))
    + [
        "compliance.preview_draft",
        "compliance.approve_publication",
        "compliance.view_publication",
        "compliance.view_publicationrequest",
        "evidence.view_auditlog",
    ],
    AUDITOR: crud("compliance", AUDITED_CONTENT, ("view",))
    + crud("compliance", tuple(f"historical{m}" for m in AUDITED_CONTENT), ("view",))
    + [
        "compliance.view_publication",
        "compliance.view_publicationrequest",
        "requests_app.view_ticketevent",
        "evidence.view_auditlog",
        "evidence.export_auditlog",
        "evidence.view_chainlink",
        "evidence.view_chainhead",
        "evidence.view_chainschema",
        "evidence.view_purgerecord",
    ],
}


def forwards(apps, schema_editor):
    sync_roles(apps, FULL_DICT)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_request_handler"),
        ("compliance", "0003_document"),
        ("evidence", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
