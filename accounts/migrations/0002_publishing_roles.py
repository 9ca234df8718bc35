"""Publishing roles: editors ask for publication, approvers publish.

The approver may read the content (to review it) but not change it, so that
the person who publishes is not the person who wrote, when four-eyes is on.
"""

from django.db import migrations

from accounts.roles import COMPLIANCE_APPROVER, COMPLIANCE_EDITOR, CONTENT_MODELS, crud, sync_roles

ROLES = {
    COMPLIANCE_EDITOR: crud("compliance", CONTENT_MODELS, ("add", "change", "delete", "view"))
    + [
        "compliance.preview_draft",
        "compliance.request_publication",
        "compliance.view_publication",
        "compliance.view_publicationrequest",
    ],
    COMPLIANCE_APPROVER: crud("compliance", CONTENT_MODELS, ("view",))
    + [
        "compliance.preview_draft",
        "compliance.approve_publication",
        "compliance.view_publication",
        "compliance.view_publicationrequest",
    ],
}


def forwards(apps, schema_editor):
    sync_roles(apps, ROLES)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_compliance_editor"),
        ("compliance", "0002_publication"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
