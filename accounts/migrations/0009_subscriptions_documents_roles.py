"""Merge of the publishing and request-handler role migrations.

Both 0002 migrations set the Compliance editor group, each without the other's
permissions; this one makes every group exact again with the union. The
permissions that subscriptions and documents add to the roles are left to the
role reconciliation of the main branch (listed there), so that each role keeps
the exact set its own tests assert.
"""

from django.db import migrations

from accounts.roles import (
    COMPLIANCE_APPROVER, COMPLIANCE_EDITOR, CONTENT_MODELS, REQUEST_HANDLER, crud, sync_roles,
)

ROLES = {
    COMPLIANCE_EDITOR: crud("compliance", CONTENT_MODELS, ("add", "change", "delete", "view")) + [
        "compliance.preview_draft",
        "compliance.request_publication",
        "compliance.view_publication",
        "compliance.view_publicationrequest",
    ],
    COMPLIANCE_APPROVER: crud("compliance", CONTENT_MODELS, ("view",)) + [
        "compliance.preview_draft",
        "compliance.approve_publication",
        "compliance.view_publication",
        "compliance.view_publicationrequest",
    ],
    REQUEST_HANDLER: [
        "requests_app.view_ticket", "requests_app.change_ticket",
        "requests_app.add_ticketnote", "requests_app.view_ticketnote",
        "requests_app.view_ticketevent",
        "requests_app.add_ticketattachment", "requests_app.view_ticketattachment",
        "requests_app.view_outboxmail",
        "requests_app.view_extraholiday", "requests_app.add_extraholiday",
        "requests_app.change_extraholiday",
    ],
}


def forwards(apps, schema_editor):
    sync_roles(apps, ROLES)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_publishing_roles"),
        ("accounts", "0002_request_handler"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
