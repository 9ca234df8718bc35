"""The Auditor role: read-only access to all page content, its history, the
publications and their requests, ticket events, and the evidence ledger; no
add, change or delete permission anywhere. Editors and approvers may read the
audit log too.
"""

from django.db import migrations

from accounts.roles import COMPLIANCE_APPROVER, COMPLIANCE_EDITOR, CONTENT_MODELS, crud, sync_roles

AUDITOR = "Auditor"
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
