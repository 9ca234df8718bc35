"""Staff roles: one table, applied after every ``migrate``.

Each role is a group holding exactly the permissions of ``ROLES``. After every
``migrate`` (``post_migrate``), ``roles_sync`` makes each role group's
permissions exactly the table's: missing ones are added, extra ones (added by
hand in the admin) removed. Groups not in the table are left alone. To change
a role, change its row here (and ``docs/roles.md`` and the table of
``tests/security/test_role_matrix.py``); the next ``migrate`` applies it.

A permission is named "app_label.codename". The historical migrations
0001-0005 carry their own frozen copies of the roles of their day.
"""

import logging
from typing import Any

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS, transaction

logger = logging.getLogger(__name__)

COMPLIANCE_EDITOR = "Compliance editor"
COMPLIANCE_APPROVER = "Compliance approver"
REQUEST_HANDLER = "Request handler"
AUDITOR = "Auditor"

# Everything on the public page, documents included.
PAGE_CONTENT = (
    "organization",
    "section",
    "certification",
    "control",
    "subprocessor",
    "datahandlingrow",
    "gdprfact",
    "contactroute",
    "document",
)


def crud(app_label: str, models: tuple[str, ...], verbs: tuple[str, ...]) -> list[str]:
    return [f"{app_label}.{verb}_{model}" for model in models for verb in verbs]


# Deliberately in no role: webhooks (endpoints, deliveries, attempts, redelivery)
# are for superusers only; see docs/roles.md.
ROLES: dict[str, frozenset[str]] = {
    # Writes the page content (each change with a reason) and asks for publication.
    COMPLIANCE_EDITOR: frozenset(
        [
            *crud("compliance", PAGE_CONTENT, ("add", "change", "delete", "view")),
            "compliance.preview_draft",
            "compliance.request_publication",
            "compliance.view_publication",
            "compliance.view_publicationrequest",
            *crud("compliance", ("update",), ("add", "change", "delete", "view")),
            "compliance.request_update",
            "compliance.view_updaterequest",
            "compliance.view_updatepublication",
            "evidence.view_auditlog",
            "documents.add_ndaversion",
            "documents.view_ndaversion",
            "documents.view_ndaapproval",
            "subscriptions.view_publicationnotices",
        ]
    ),
    # Reads the content to review it, and publishes; changes none of it.
    COMPLIANCE_APPROVER: frozenset(
        [
            *crud("compliance", PAGE_CONTENT, ("view",)),
            "compliance.preview_draft",
            "compliance.approve_publication",
            "compliance.view_publication",
            "compliance.view_publicationrequest",
            "compliance.view_update",
            "compliance.approve_update",
            "compliance.view_updaterequest",
            "compliance.view_updatepublication",
            "evidence.view_auditlog",
            "documents.view_ndaversion",
            "documents.approve_ndaversion",
            "documents.view_ndaapproval",
            "subscriptions.view_publicationnotices",
        ]
    ),
    # Works the ticket queue through the workflow buttons (services); never deletes.
    REQUEST_HANDLER: frozenset(
        [
            "requests_app.view_ticket",
            "requests_app.change_ticket",
            "requests_app.add_ticketnote",
            "requests_app.view_ticketnote",
            "requests_app.view_ticketevent",
            "requests_app.add_ticketattachment",
            "requests_app.view_ticketattachment",
            "core.view_outboxmail",
            "requests_app.view_extraholiday",
            "requests_app.add_extraholiday",
            "requests_app.change_extraholiday",
            "subscriptions.view_subscriber",
            "subscriptions.view_subprocessornotice",
            "subscriptions.view_subprocessorobjection",
            "subscriptions.view_publicationnotices",
            "subscriptions.view_updatenotice",
            "documents.view_ndaversion",
            "documents.view_ndaacceptance",
            "documents.view_documentgrant",
            "documents.revoke_documentgrant",
            "documents.view_documentdownload",
            # Customers and their contacts (never deleted), the breach register and its notices.
            *crud("customers", ("customer", "contact"), ("view", "add", "change")),
            "customers.view_customeragreement",
            *crud("customers", ("incident",), ("view", "add", "change")),
            "customers.notify_incident",
            "customers.export_incident",
            "customers.view_incidentnotice",
            "subscriptions.view_contactnotice",
        ]
    ),
    # Reads everything that is evidence; can change nothing.
    AUDITOR: frozenset(
        [
            *crud("compliance", PAGE_CONTENT, ("view",)),
            *crud("compliance", tuple(f"historical{m}" for m in PAGE_CONTENT), ("view",)),
            "compliance.view_publication",
            "compliance.view_publicationrequest",
            "compliance.view_update",
            "compliance.view_historicalupdate",
            "compliance.view_updaterequest",
            "compliance.view_updatepublication",
            "requests_app.view_ticketaudit",
            "requests_app.view_ticketevent",
            "evidence.view_auditlog",
            "evidence.export_auditlog",
            "evidence.view_chainlink",
            "evidence.view_chainhead",
            "evidence.view_chainschema",
            "evidence.view_purgerecord",
            "documents.view_ndaversion",
            "documents.view_ndaapproval",
            "documents.view_ndaacceptance",
            "documents.view_documentgrant",
            "documents.view_documentdownload",
            "subscriptions.view_subprocessornotice",
            "subscriptions.view_subprocessorobjection",
            "subscriptions.view_publicationnotices",
            "subscriptions.view_contactnotice",
            "customers.view_customer",
            "customers.view_contact",
            "customers.view_customeragreement",
            "customers.view_incident",
            "customers.view_incidentnotice",
            "customers.export_incident",
            "subscriptions.view_updatenotice",
        ]
    ),
}


class UnknownPermission(LookupError):
    """A role names a permission the database does not have."""


def roles_sync(
    *, roles: dict[str, frozenset[str]] | None = None, using: str = DEFAULT_DB_ALIAS, apps: Any = global_apps
) -> dict[str, tuple[list[str], list[str]]]:
    """Make each role group hold exactly its permissions of the table.

    Idempotent; creates a missing group. Returns, per role, the permissions
    (app_label.codename) added and removed. Raises `UnknownPermission`,
    changing nothing, when the table names a permission that does not exist
    (a typo, or a database not fully migrated). `apps` is the registry to use
    (the migration state's, after `migrate`).
    """
    roles = ROLES if roles is None else roles
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    known = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.using(using).values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    missing = sorted(perm for perms in roles.values() for perm in perms if perm not in known)
    if missing:
        raise UnknownPermission(f"Roles name unknown permissions: {', '.join(missing)}")
    changes: dict[str, tuple[list[str], list[str]]] = {}
    with transaction.atomic(using=using):
        for name, perms in roles.items():
            group, _ = Group.objects.using(using).get_or_create(name=name)
            held = {
                f"{app_label}.{codename}"
                for app_label, codename in group.permissions.values_list("content_type__app_label", "codename")
            }
            added, removed = sorted(perms - held), sorted(held - perms)
            if added:
                group.permissions.add(*(known[perm] for perm in added))
            if removed:
                group.permissions.remove(*(known[perm] for perm in removed))
            changes[name] = (added, removed)
    return changes


def roles_sync_after_migrate(sender: Any, *, using: str = DEFAULT_DB_ALIAS, apps: Any = None, **kwargs: Any) -> None:
    """post_migrate (after Django created every app's permissions): apply the
    table. Migrated to an earlier state, some permissions do not exist yet;
    the roles are then left as they are."""
    try:
        changes = roles_sync(using=using, apps=apps or global_apps)
    except UnknownPermission as exc:
        logger.warning("Roles not synchronised: %s", exc)
        return
    for name, (added, removed) in changes.items():
        if added or removed:
            logger.info("Role %s: added %s, removed %s", name, added or "none", removed or "none")
