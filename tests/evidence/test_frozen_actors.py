"""Who made a change is recorded as they were named then: a rename rewrites no
entry, and links written before names were frozen still verify."""

import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from compliance.models import Certification
from compliance.services import content_save
from evidence.canonical import link_digest, row_digest
from evidence.models import ChainLink, PurgeRecord
from evidence.selectors import AuditFilters, audit_log_page
from evidence.verify import verify_chain
from tests import db_roles
from tests.factories import publish_draft

pytestmark = pytest.mark.django_db

STAFF, REQUEST = "accounts.staffsecurityevent", "compliance.historicalpublicationrequest"


def retarget(actor, target: str) -> None:
    cert = Certification.objects.get(slug="soc2-type-1")
    cert.target = target
    content_save(obj=cert, actor=actor, reason=f"to {target}")


def rename(user, name: str) -> None:
    user.username = name
    user.save(update_fields=["username"])


def test_a_rename_changes_no_past_entry_and_the_chain_still_verifies(seeded, editor, approver, client, tmp_path):
    retarget(editor, "Q1 2027")
    publish_draft(requester=editor, approver=approver, summary="Audit moved")
    rename(editor, "edna.renamed")
    rename(approver, "apollo.renamed")
    retarget(editor, "Q2 2027")

    entries = audit_log_page(filters=AuditFilters(), size=8).entries
    assert [(e.model_label, e.change_type, e.user, e.reason) for e in entries] == [
        ("compliance.historicalcertification", "changed", "edna.renamed", "to Q2 2027"),
        # The renames are chained events themselves.
        (STAFF, "staff account changed", "", "Username changed (apollo → apollo.renamed) for apollo.renamed"),
        (STAFF, "staff account changed", "", "Username changed (edna → edna.renamed) for edna.renamed"),
        (REQUEST, "changed", "", ""),
        ("compliance.publication", "published", "apollo", "Audit moved"),
        (REQUEST, "created", "", ""),
        ("compliance.historicalcertification", "changed", "edna", "to Q1 2027"),
        # The fixtures' accounts were created: the approver's role, given by no one signed in.
        (STAFF, "staff account changed", "", "Role added (Compliance approver) for apollo"),
    ]
    assert verify_chain().ok

    # The publications list names who asked and who approved as they were named then.
    client.force_login(approver)
    page = client.get("/admin/compliance/publication/").content.decode()
    assert '<td class="field-requested_by_name">edna</td>' in page
    assert '<td class="field-approved_by_name">apollo</td>' in page

    # The export carries the name at the time, so a re-export later gives the same bytes.
    today = timezone.now().date().isoformat()
    call_command("export_audit_log", "--from", today, "--to", today, "--format", "jsonl", "--out", str(tmp_path))
    rows = [json.loads(line) for line in (tmp_path / f"audit-log_{today}_{today}.jsonl").read_text().splitlines()]
    content = [r for r in rows if r["model"] in ("compliance.historicalcertification", "compliance.publication")]
    assert [(r["change"], r["user"]) for r in content[-3:]] == [
        ("changed", "edna"),
        ("published", "apollo"),
        ("changed", "edna.renamed"),
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rewritten_name_in_a_link_is_detected(seeded, editor):
    retarget(editor, "Q1 2027")
    link = ChainLink.objects.order_by("-seq").first()
    # The database administrator, with the triggers off: the application's role cannot.
    with db_roles.dba() as dba, dba.transaction():
        dba.execute("SET LOCAL session_replication_role = replica")
        dba.execute("UPDATE evidence_chainlink SET actor_username = 'mallory' WHERE seq = %s", [link.seq])

    broken = verify_chain().broken
    assert (broken.seq, broken.problem) == (link.seq, "the link's own fields were altered")


BEFORE = [("evidence", "0003_append_only_guards")]


@pytest.mark.db_owner  # migrations run as the schema owner
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_links_written_before_the_upgrade_still_verify_after_it():
    """A chain written in format 1 (by the release before names were frozen)
    verifies after the migration, and new links in format 2 follow it."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    head = old.get_model("evidence", "ChainHead").objects.get_or_create(pk=1)[0]
    # The record's fields as that release had them (later releases add some).
    attnames = sorted(f.attname for f in old.get_model("evidence", "PurgeRecord")._meta.concrete_fields)
    schema = old.get_model("evidence", "ChainSchema").objects.create(
        model_label="evidence.purgerecord", fields=",".join(attnames)
    )
    prev_hash, seq = head.hash, head.seq
    for reason in ("first purge", "second purge"):
        now = timezone.now()
        record = old.get_model("evidence", "PurgeRecord").objects.create(ran_at=now, reason=reason)
        row = {name: getattr(record, name) for name in attnames}
        row_hash = row_digest(row)
        seq += 1
        link_hash = link_digest(
            seq=seq,
            model_label="evidence.purgerecord",
            row_pk=record.pk,
            row_hash=row_hash,
            prev_hash=prev_hash,
            recorded_at=now,
            actor_id=None,
        )
        old.get_model("evidence", "ChainLink").objects.create(
            seq=seq,
            model_label="evidence.purgerecord",
            row_pk=record.pk,
            schema=schema,
            recorded_at=now,
            actor_id=None,
            row_hash=row_hash,
            prev_hash=prev_hash,
            link_hash=link_hash,
        )
        old.get_model("evidence", "ChainHead").objects.filter(pk=1).update(seq=seq, hash=link_hash, recorded_at=now)
        prev_hash = link_hash

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert list(ChainLink.objects.order_by("seq").values_list("format", "actor_username")) == [(1, ""), (1, "")]
    assert verify_chain().ok
    PurgeRecord.objects.create(ran_at=timezone.now(), reason="after the upgrade")
    assert list(ChainLink.objects.order_by("seq").values_list("format", flat=True)) == [1, 1, 2]
    result = verify_chain()
    assert (result.ok, result.links) == (True, 3)
