import importlib

import pytest
from django.apps import apps
from django.db import connection, transaction

from compliance.models import Certification
from compliance.services import content_save, publication_publish_initial, system_actor
from django.core.cache import cache
from django.template import Context, Template
from tests.factories import publish_draft
from evidence.db import allow_history_purge
from evidence.models import ChainHead, ChainLink, ChainSchema, PurgeRecord
from evidence.verify import verify_chain

pytestmark = pytest.mark.django_db


def test_public_page_footer_shows_the_chain_position_of_the_live_version(seeded, client, editor, approver):
    first = publication_publish_initial(actor=system_actor())
    first_link = ChainLink.objects.get(model_label="compliance.publication", row_pk=first.pk)
    assert first_link.seq == ChainHead.objects.get().seq  # chained as it was written
    footer = (f'<p class="chain-head">Audit chain: <span class="chain-seq">#{first_link.seq}</span> '
              f"<code>{first_link.link_hash}</code></p>")
    assert footer in client.get("/").content.decode()
    cert = Certification.objects.get(slug="iso-27001")
    cert.target = "2028"
    content_save(obj=cert, actor=editor, reason="Later")
    cache.clear()
    # Draft edits do not change what the page (a frozen version) shows.
    assert footer in client.get("/").content.decode()
    second = publish_draft(requester=editor, approver=approver)
    second_link = ChainLink.objects.get(model_label="compliance.publication", row_pk=second.pk)
    assert (second_link.seq, second_link.link_hash) == (ChainHead.objects.get().seq, ChainHead.objects.get().hash)
    assert f"<code>{second_link.link_hash}</code>" in client.get("/").content.decode()


def test_chain_position_without_a_publication_is_the_current_head(seeded):
    head = ChainHead.objects.get()
    rendered = Template("{% load evidence_chain %}{% chain_position None as c %}{{ c.seq }}:{{ c.hash }}").render(Context())
    assert rendered == f"{head.seq}:{head.hash}"


def test_backfill_migration_chains_history_written_before_the_ledger(seeded):
    expected = list(ChainLink.objects.order_by("seq").values_list("model_label", "row_pk"))
    with transaction.atomic(), connection.cursor() as cursor:
        allow_history_purge(cursor, reason="test: forget the ledger")
        PurgeRecord.objects.all().delete()
        ChainLink.objects.all().delete()
        ChainSchema.objects.all().delete()
        ChainHead.objects.all().delete()
    module = importlib.import_module("evidence.migrations.0002_genesis_and_existing_history")

    class SchemaEditor:
        pass

    editor = SchemaEditor()
    editor.connection = connection
    module.forwards(apps, editor)
    chained = list(ChainLink.objects.order_by("seq").values_list("model_label", "row_pk"))
    # Seed rows were written in one go: the backfill orders by time, then kind, then id.
    assert sorted(chained) == sorted(expected) and len(chained) == len(expected)
    assert verify_chain().ok
    # Each old change is chained at its own time, so date filters find it on its day.
    first = ChainLink.objects.get(seq=1)
    model = apps.get_model(first.model_label)
    assert first.recorded_at == model.objects.get(pk=first.row_pk).history_date
