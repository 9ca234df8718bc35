"""Roles for gated documents and subscriptions.

Editors maintain documents and the click-through NDA; approvers read them to
review; request handlers decide access requests, revoke grants and answer
objections; auditors read all of it. Every role named here is given in full.
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


PAGE_CONTENT = CONTENT_MODELS + ("document",)

ROLES = {
    COMPLIANCE_EDITOR: crud("compliance", PAGE_CONTENT, ("add", "change", "delete", "view"))
    + [
        "compliance.preview_draft",
        "compliance.request_publication",
        "compliance.view_publication",
        "compliance.view_publicationrequest",
        "evidence.view_auditlog",
        "documents.add_ndaversion",
        "documents.view_ndaversion",
        "subscriptions.view_publicationnotices",
    ],
    COMPLIANCE_APPROVER: crud("compliance", PAGE_CONTENT, ("view",))
    + [
        "compliance.preview_draft",
        "compliance.approve_publication",
        "compliance.view_publication",
        "compliance.view_publicationrequest",
        "evidence.view_auditlog",
        "documents.view_ndaversion",
        "subscriptions.view_publicationnotices",
    ],
    REQUEST_HANDLER: [
        "requests_app.view_ticket",
        "requests_app.change_ticket",
        "requests_app.add_ticketnote",
        "requests_app.view_ticketnote",
        "requests_app.view_ticketevent",
        "requests_app.add_ticketattachment",
        "requests_app.view_ticketattachment",
        "requests_app.view_outboxmail",
        "requests_app.view_extraholiday",
        "requests_app.add_extraholiday",
        "requests_app.change_extraholiday",
        "subscriptions.view_subscriber",
        "subscriptions.view_subprocessornotice",
        "subscriptions.view_subprocessorobjection",
        "subscriptions.view_publicationnotices",
        "documents.view_ndaversion",
        "documents.view_ndaacceptance",
        "documents.view_documentgrant",
        "documents.revoke_documentgrant",
        "documents.view_documentdownload",
    ],
    AUDITOR: crud("compliance", PAGE_CONTENT, ("view",))
    + crud("compliance", tuple(f"historical{m}" for m in PAGE_CONTENT), ("view",))
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
        "documents.view_ndaversion",
        "documents.view_ndaacceptance",
        "documents.view_documentgrant",
        "documents.view_documentdownload",
        "subscriptions.view_subprocessornotice",
        "subscriptions.view_subprocessorobjection",
        "subscriptions.view_publicationnotices",
    ],
}


def forwards(apps, schema_editor):
    sync_roles(apps, ROLES)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_auditor_role"),
        ("documents", "0001_initial"),
        ("subscriptions", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
