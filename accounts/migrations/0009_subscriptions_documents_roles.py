"""Roles after subscriptions and gated documents, and the merge of the
publishing and request-handler role migrations.

Editors manage documents and NDA versions (content of the page); approvers read
documents to review what they publish; request handlers answer objections and
access requests on tickets, see notices, NDA acceptances, grants and downloads,
and revoke grants. Subscriber addresses are personal data: only the request
handler, who answers subscribers' objections, sees them.
"""

from django.db import migrations

from accounts.roles import (
    COMPLIANCE_APPROVER, COMPLIANCE_EDITOR, CONTENT_MODELS, REQUEST_HANDLER, crud, sync_roles,
)

CONTENT_WITH_DOCUMENTS = (*CONTENT_MODELS, "document")

ROLES = {
    COMPLIANCE_EDITOR: crud("compliance", CONTENT_WITH_DOCUMENTS, ("add", "change", "delete", "view")) + [
        "compliance.preview_draft",
        "compliance.request_publication",
        "compliance.view_publication",
        "compliance.view_publicationrequest",
        "documents.add_ndaversion", "documents.view_ndaversion",
        "subscriptions.view_publicationnotices",
    ],
    COMPLIANCE_APPROVER: crud("compliance", CONTENT_WITH_DOCUMENTS, ("view",)) + [
        "compliance.preview_draft",
        "compliance.approve_publication",
        "compliance.view_publication",
        "compliance.view_publicationrequest",
        "documents.view_ndaversion",
        "subscriptions.view_publicationnotices",
    ],
    REQUEST_HANDLER: [
        "requests_app.view_ticket", "requests_app.change_ticket",
        "requests_app.add_ticketnote", "requests_app.view_ticketnote",
        "requests_app.view_ticketevent",
        "requests_app.add_ticketattachment", "requests_app.view_ticketattachment",
        "requests_app.view_outboxmail",
        "requests_app.view_extraholiday", "requests_app.add_extraholiday",
        "requests_app.change_extraholiday",
        "subscriptions.view_subscriber", "subscriptions.view_subprocessornotice",
        "subscriptions.view_subprocessorobjection", "subscriptions.view_publicationnotices",
        "documents.view_ndaversion", "documents.view_ndaacceptance",
        "documents.view_documentgrant", "documents.revoke_documentgrant",
        "documents.view_documentdownload",
    ],
}


def forwards(apps, schema_editor):
    sync_roles(apps, ROLES)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_publishing_roles"),
        ("accounts", "0002_request_handler"),
        ("compliance", "0003_document"),
        ("subscriptions", "0001_initial"),
        ("documents", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
