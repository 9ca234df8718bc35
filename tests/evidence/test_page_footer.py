import importlib

import pytest
from django.apps import apps
from django.db import connection, transaction

from compliance.models import Certification
from compliance.services import content_save
from evidence.db import allow_history_purge
from evidence.models import ChainHead, ChainLink, ChainSchema, PurgeRecord
from evidence.verify import verify_chain

pytestmark = pytest.mark.django_db


def test_public_page_footer_shows_the_chain_head(seeded, client, editor):
    cert = Certification.objects.get(slug="iso-27001")
    cert.target = "2028"
    content_save(obj=cert, actor=editor, reason="Later")
    head = ChainHead.objects.get()
    body = client.get("/").content.decode()
    assert (
        f'<p class="chain-head">Change-history chain head: <span class="chain-seq">#{head.seq}</span> '
        f"<code>{head.hash}</code></p>"
    ) in body


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
