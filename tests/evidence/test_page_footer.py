"""The public page's footer shows the audit chain head sealed into the version
shown, and the verifier takes it as shown; also the backfill of history older
than the ledger."""

import importlib
import re
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from compliance.models import Certification
from compliance.services import content_save, publication_publish_initial
from core.history import system_actor
from evidence.models import ChainLink
from evidence.selectors import Head, chain_head
from evidence.tlog_store import tree_sync
from evidence.verify import parse_head, verify_chain
from tests import db_roles
from tests.evidence.helpers import verify_ok_output

pytestmark = pytest.mark.django_db


FOOTER = re.compile(r'<p class="chain-head">(Audit chain head[^:]*): (.*?)</p>', re.S)


def footer(html: str) -> tuple[str, str]:
    """(label, the head as a reader sees it) from the page's footer, tags removed."""
    found = FOOTER.findall(html)
    assert len(found) == 1, found
    label, shown = found[0]
    return label, re.sub(r"<[^>]+>", "", shown)


def footer_html(head) -> str:
    return f'<span class="chain-seq">#{head.seq}</span> <code class="chain-hash">{head.hash}</code></p>'


@pytest.fixture
def live(seeded):
    return publication_publish_initial(actor=system_actor())


@pytest.fixture
def at(monkeypatch):
    """Sets the clock: Last-Modified has whole seconds, so the tests move time on."""

    def set_clock(moment: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    set_clock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    return set_clock


def sealed(publication) -> ChainLink:
    return ChainLink.objects.get(model_label="compliance.publication", row_pk=publication.pk)


def test_footer_shows_the_sealed_head_and_a_draft_edit_changes_nothing(at, live, client, editor, memo_clock):
    first = client.get("/")
    link = sealed(live)
    assert footer(first.content.decode()) == ("Audit chain head sealed into version 1", f"#{link.seq} {link.link_hash}")
    assert footer_html(Head(link.seq, link.link_hash)) in first.content.decode()

    at(datetime(2026, 6, 1, 10, 0, tzinfo=UTC))
    cert = Certification.objects.get(slug="iso-27001")
    cert.target = "2028"
    content_save(obj=cert, actor=editor, reason="Later")
    assert chain_head().seq > link.seq
    memo_clock.advance(1)

    # Nothing the public sees changed: same ETag, same Last-Modified, a 304.
    assert client.get("/", HTTP_IF_NONE_MATCH=first.headers["ETag"]).status_code == 304
    again = client.get("/")
    assert again.content == first.content
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Last-Modified"] == first.headers["Last-Modified"] == "Mon, 01 Jun 2026 09:00:00 GMT"
    assert "2028" not in again.content.decode()


def test_footer_and_trust_json_show_the_same_sealed_head(live, client, editor):
    cert = Certification.objects.get(slug="iso-27001")
    cert.target = "2029"
    content_save(obj=cert, actor=editor, reason="Later")
    link = sealed(live)
    assert client.get("/trust.json").json()["chain_head"] == {"sequence": link.seq, "hash": link.link_hash}
    assert footer(client.get("/").content.decode())[1] == f"#{link.seq} {link.link_hash}"


def test_verify_chain_takes_the_head_exactly_as_the_footer_shows_it(live, client, editor):
    cert = Certification.objects.get(slug="iso-27001")
    cert.target = "2030"
    content_save(obj=cert, actor=editor, reason="Later")
    shown = footer(client.get("/").content.decode())[1]
    head = chain_head()
    out = StringIO()
    call_command("verify_chain", "--expect-head", shown, stdout=out)
    assert head == chain_head()
    assert out.getvalue() == verify_ok_output()
    # A head from a footer seen earlier is still accepted once the chain moved on.
    content_save(obj=cert, actor=editor, reason="Later still")
    call_command("verify_chain", "--expect-head", shown, stdout=StringIO())
    with pytest.raises(CommandError, match="its hash differs from the expected head's hash"):
        call_command("verify_chain", "--expect-head", f"#{head.seq} {'a' * 64}", stdout=StringIO())


@pytest.mark.parametrize("text", ["#42 {h}", "42:{h}", "#42:{h}", "  #42  {H}\n", "42 {h}"])
def test_parse_head_reads_the_footer_and_the_manifest_forms(text):
    digest = "3fa9" * 16
    assert parse_head(text.format(h=digest, H=digest.upper())) == (42, digest)


@pytest.mark.parametrize("text", ["42", "#42", "#42 3fa9", "42:" + "g" * 64, "x42:" + "a" * 64, "42:" + "a" * 65])
def test_parse_head_refuses_anything_else(text):
    with pytest.raises(ValueError, match="expected SEQ:HASH or #SEQ HASH"):
        parse_head(text)


def test_as_of_footer_shows_the_head_sealed_into_the_version_shown(at, live, client, editor):
    at(datetime(2026, 6, 2, 12, 0, tzinfo=UTC))
    cert = Certification.objects.get(slug="iso-27001")
    cert.target = "2031"
    content_save(obj=cert, actor=editor, reason="Later")
    link = sealed(live)
    response = client.get("/as-of/2026-06-01/")
    assert footer(response.content.decode()) == (
        "Audit chain head sealed into version 1",
        f"#{link.seq} {link.link_hash}",
    )
    assert response.headers["Last-Modified"] == "Mon, 01 Jun 2026 09:00:00 GMT"
    assert client.get("/as-of/2026-06-01/", HTTP_IF_NONE_MATCH=response.headers["ETag"]).status_code == 304


def test_preview_footer_shows_the_current_head(live, client, editor):
    cert = Certification.objects.get(slug="iso-27001")
    cert.target = "2032"
    content_save(obj=cert, actor=editor, reason="Later")
    head = chain_head()
    client.force_login(editor)
    html = client.get(reverse("compliance:preview")).content.decode()
    assert footer(html) == ("Audit chain head", f"#{head.seq} {head.hash}")


def forget_the_ledger() -> None:
    """On PostgreSQL only the database administrator can, with the triggers off, outside the app's transaction."""
    tables = (
        "evidence_purgerecord",
        "evidence_chainlink",
        "evidence_chainschema",
        "evidence_chainhead",
        "evidence_treenode",
        "evidence_checkpoint",
    )
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")
        return
    with db_roles.dba() as dba, dba.transaction():
        dba.execute("SET LOCAL session_replication_role = replica")
        for table in tables:
            dba.execute(f"DELETE FROM {table}")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_backfill_migration_chains_history_written_before_the_ledger(seeded):
    expected = list(ChainLink.objects.order_by("seq").values_list("model_label", "row_pk"))
    forget_the_ledger()
    module = importlib.import_module("evidence.migrations.0002_genesis_and_existing_history")

    class SchemaEditor:
        def __init__(self) -> None:
            self.connection = connection

    editor = SchemaEditor()
    module.forwards(apps, editor)
    chained = list(ChainLink.objects.order_by("seq").values_list("model_label", "row_pk"))
    # Seed rows were written in one go: the backfill orders by time, then kind, then id.
    assert sorted(chained) == sorted(expected) and len(chained) == len(expected)
    # The migration writes links only; the transparency log's tree catches up after it.
    result = verify_chain()
    assert (result.ok, result.tree_size, result.links) == (True, 0, len(expected))
    err = StringIO()
    call_command("verify_chain", stdout=StringIO(), stderr=err)
    assert err.getvalue() == (
        f"Links 1..{len(expected)} are not in a signed checkpoint yet: only the next checkpoint will witness "
        "them (`manage.py evidence_checkpoint` signs one now).\n"
        f"The stored tree lacks links 1..{len(expected)}: inclusion proofs for them wait for "
        "`manage.py evidence_tree_sync` (or the next change).\n"
    )
    assert tree_sync() == len(expected)
    assert verify_chain().tree_size == len(expected)
    # Each old change is chained at its own time, so date filters find it on its day.
    first = ChainLink.objects.get(seq=1)
    model = apps.get_model(first.model_label)
    assert first.recorded_at == model.objects.get(pk=first.row_pk).history_date
