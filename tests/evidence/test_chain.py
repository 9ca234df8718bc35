import pytest
from django.core.management import call_command

from compliance.models import CONTENT_MODELS, Certification, Control
from compliance.services import content_delete, content_save
from evidence.canonical import GENESIS_HASH, link_digest, row_digest
from evidence.models import ChainHead, ChainLink
from evidence.registry import chained_models, read_rows
from evidence.verify import verify_chain
from tests.evidence.helpers import verify_ok_output
from tests.factories import publish_draft

pytestmark = pytest.mark.django_db


def test_every_kind_of_evidence_is_chained():
    labels = set(chained_models())
    expected = {m.history.model._meta.label_lower for m in CONTENT_MODELS}
    assert labels == expected | {
        "compliance.historicalpublicationrequest",
        "compliance.publication",
        "evidence.purgerecord",
        "accounts.staffsecurityevent",
        "requests_app.historicalticket",
        "requests_app.historicalticketattachment",
        "requests_app.ticketevent",
        "requests_app.ticketnote",
        "documents.ndaapproval",
        "documents.ndaacceptance",
        "documents.historicaldocumentgrant",
        "documents.documentdownload",
        "subscriptions.historicalsubscriber",
        "subscriptions.subprocessornotice",
        "subscriptions.subprocessorobjection",
        "webhooks.historicalwebhookendpoint",
        "subscriptions.contactnotice",
        "customers.historicalcustomer",
        "customers.historicalcontact",
        "customers.customeragreement",
        "customers.historicalincident",
        "customers.incidentcustomer",
        "customers.incidentmessage",
        "customers.incidentnotice",
        "compliance.historicalupdate",
        "compliance.historicalupdaterequest",
        "compliance.updatepublication",
        "subscriptions.updatenotice",
    }


def test_personal_fields_are_declared_where_requesters_write():
    personal = {label: chained.personal for label, chained in chained_models().items() if chained.personal}
    assert personal == {
        "requests_app.historicalticket": (
            "account_email",
            "details",
            "extension_reason",
            "form_data",
            "history_change_reason",
            "legal_entity",
            "requester_email",
            "requester_name",
            "submitted_ip",
        ),
        "requests_app.historicalticketattachment": ("original_name",),
        "requests_app.ticketevent": ("message",),
        "requests_app.ticketnote": ("body",),
        "documents.ndaacceptance": ("ip", "user_agent"),
        "documents.historicaldocumentgrant": ("revoke_reason",),
        "documents.documentdownload": ("ip", "user_agent"),
        "subscriptions.historicalsubscriber": ("email",),
        "customers.historicalcontact": ("email", "name"),
    }


def test_each_content_write_appends_one_link_in_sequence(seeded, editor):
    head_before = ChainHead.objects.get()
    cert = Certification.objects.get(slug="soc2-type-1")
    cert.target = "Q1 2027"
    content_save(obj=cert, actor=editor, reason="Audit moved")
    content_delete(obj=Control.objects.earliest("pk"), actor=editor, reason="Obsolete")

    links = list(ChainLink.objects.filter(seq__gt=head_before.seq).order_by("seq"))
    assert [link.seq for link in links] == [head_before.seq + 1, head_before.seq + 2]
    changed = cert.history.model.objects.get(pk=links[0].row_pk)
    assert (links[0].model_label, changed.history_type, changed.history_change_reason) == (
        "compliance.historicalcertification",
        "~",
        "Audit moved",
    )
    assert links[0].actor_id == editor.pk
    assert links[0].prev_hash == head_before.hash
    assert links[1].prev_hash == links[0].link_hash
    assert links[1].model_label == "compliance.historicalcontrol"
    fields = read_rows(type(changed), [changed.pk])[changed.pk]
    assert links[0].row_hash == row_digest({k: fields[k] for k in links[0].schema.attnames})
    assert links[0].link_hash == link_digest(
        seq=links[0].seq,
        model_label=links[0].model_label,
        row_pk=links[0].row_pk,
        row_hash=links[0].row_hash,
        prev_hash=links[0].prev_hash,
        recorded_at=links[0].recorded_at,
        actor_id=editor.pk,
        actor_username="edna",
        format=2,
    )
    assert (links[0].actor_username, links[0].format) == ("edna", 2)
    head = ChainHead.objects.get()
    assert (head.seq, head.hash) == (links[1].seq, links[1].link_hash)


def test_seed_chains_every_history_row_gaplessly_from_genesis(seeded):
    history_rows = sum(m.history.count() for m in CONTENT_MODELS)
    seqs = list(ChainLink.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, history_rows + 1))
    assert ChainLink.objects.get(seq=1).prev_hash == GENESIS_HASH


def test_a_rolled_back_write_leaves_no_link(seeded, editor):
    from django.db import transaction

    before = ChainHead.objects.get().seq
    cert = Certification.objects.get(slug="soc2-type-1")
    with pytest.raises(RuntimeError), transaction.atomic():
        cert.target = "never"
        content_save(obj=cert, actor=editor, reason="will roll back")
        raise RuntimeError
    assert ChainHead.objects.get().seq == before
    assert ChainLink.objects.count() == before


def test_verify_passes_on_untouched_data(seeded, editor, capsys):
    cert = Certification.objects.get(slug="iso-27001")
    cert.status = "in_progress"
    content_save(obj=cert, actor=editor, reason="Started")
    result = verify_chain()
    assert result.ok and result.links == ChainLink.objects.count()
    call_command("verify_chain")
    assert capsys.readouterr().out == verify_ok_output()


def test_publications_are_chained_with_their_approver(seeded, editor, approver):
    from compliance.services import publication_publish_initial
    from core.history import system_actor

    publication_publish_initial(actor=system_actor())
    cert = Certification.objects.get(slug="iso-27001")
    cert.target = "2028"
    content_save(obj=cert, actor=editor, reason="Later")
    publication = publish_draft(requester=editor, approver=approver, summary="ISO later")
    link, decided = ChainLink.objects.order_by("-seq")[1], ChainLink.objects.order_by("-seq")[0]
    assert (link.model_label, link.row_pk, link.actor_id) == ("compliance.publication", publication.pk, approver.pk)
    # The request's approval is its next version, chained right after.
    assert (decided.model_label, decided.seq) == ("compliance.historicalpublicationrequest", link.seq + 1)
    # The snapshot JSON read back from the database hashes as it did when chained.
    assert verify_chain().ok
