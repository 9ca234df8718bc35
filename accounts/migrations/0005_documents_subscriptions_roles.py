"""Roles for gated documents and subscriptions.

Editors maintain documents and the click-through NDA; approvers read them to
review; request handlers decide access requests, revoke grants and answer
objections; auditors read all of it. Every role named here is given in full.
"""

from django.db import migrations

from accounts.roles import (
    AUDITOR,
    COMPLIANCE_APPROVER,
    COMPLIANCE_EDITOR,
    CONTENT_MODELS,
    REQUEST_HANDLER,
    crud,
    sync_roles,
)

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
