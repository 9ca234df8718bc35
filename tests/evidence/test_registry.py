"""How evidence learns what to chain: the ChainSpec each app declares on its models."""

import ast
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from compliance.models import CONTENT_MODELS, Publication, PublicationRequest, Update, UpdatePublication, UpdateRequest
from customers.models import Contact, Customer, Incident
from documents.models import DocumentGrant
from evidence.models import PurgeRecord
from evidence.registry import ChainSpec, _attname, chained_models, declared_specs, publishing_model
from requests_app.models import Ticket, TicketAttachment
from subscriptions.models import PublicationNotices, Subscriber
from webhooks.models import WebhookEndpoint

EVIDENCE = Path(__file__).resolve().parents[2] / "evidence"
FEATURE_APPS = {"accounts", "compliance", "customers", "requests_app", "subscriptions", "documents", "trustcenter"}


def test_declarations_name_the_content_bases_and_the_record_models():
    declared = {model: spec for model, spec in declared_specs()}
    assert {m for m, s in declared.items() if s.history} == {
        *CONTENT_MODELS,
        PublicationRequest,
        Update,
        UpdateRequest,
        Ticket,
        TicketAttachment,
        DocumentGrant,
        Subscriber,
        Customer,
        Contact,
        Incident,
        WebhookEndpoint,
    }
    assert declared[Publication] == ChainSpec(
        time_field="snapshot_taken_at", user_field="approved_by", action="published", publishes=True
    )
    assert declared[PurgeRecord] == ChainSpec(time_field="ran_at", action="purged history")
    assert declared[UpdatePublication] == ChainSpec(
        time_field="published_at", user_field="approved_by", action="update published"
    )
    # Ticket history holds requesters' personal data: chained as commitments to it.
    assert declared[Ticket].personal == (*Ticket.PERSONAL_FIELDS, "extension_reason", "history_change_reason")
    # A proxy is not chained twice.
    assert PublicationNotices not in declared


def test_records_resolve_their_declared_fields():
    chained = chained_models()
    publication, purge = chained["compliance.publication"], chained["evidence.purgerecord"]
    assert (publication.time_attname, publication.user_attname, publication.action) == (
        "snapshot_taken_at",
        "approved_by_id",
        "published",
    )
    assert (purge.time_attname, purge.user_attname, purge.action) == ("ran_at", None, "purged history")
    assert publishing_model() == publication
    records = [label for label, spec in chained.items() if not spec.is_history]
    assert sorted(records) == [
        "accounts.staffsecurityevent",
        "compliance.publication",
        "compliance.updatepublication",
        "customers.customeragreement",
        "customers.incidentcustomer",
        "customers.incidentmessage",
        "customers.incidentnotice",
        "documents.documentdownload",
        "documents.ndaacceptance",
        "documents.ndaapproval",
        "evidence.purgerecord",
        "requests_app.ticketevent",
        "requests_app.ticketnote",
        "subscriptions.contactnotice",
        "subscriptions.subprocessornotice",
        "subscriptions.subprocessorobjection",
        "subscriptions.updatenotice",
    ]


def test_a_spec_naming_a_missing_field_is_refused():
    with pytest.raises(ImproperlyConfigured, match="names no field 'approved_on'"):
        _attname(Publication, "approved_on")


def test_evidence_imports_no_feature_app():
    imported = set()
    for path in EVIDENCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
    assert imported & FEATURE_APPS == set()
