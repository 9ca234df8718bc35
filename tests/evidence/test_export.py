import csv
import hashlib
import io
import json
from datetime import UTC

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from compliance.models import Certification, GdprFact
from compliance.services import content_save
from evidence.export import neutralise_cell, write_export
from evidence.models import ChainHead, ChainLink

pytestmark = pytest.mark.django_db
EXPORT_URL = "/admin/evidence/auditlog/export/"


@pytest.fixture
def today():
    return timezone.now().date().isoformat()


def export(tmp_path, today, fmt, name="out"):
    call_command("export_audit_log", "--from", today, "--to", today, "--format", fmt, "--out", str(tmp_path / name))
    data = (tmp_path / name / f"audit-log_{today}_{today}.{fmt}").read_bytes()
    manifest = json.loads((tmp_path / name / f"audit-log_{today}_{today}.{fmt}.manifest.json").read_text())
    return data, manifest


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_two_exports_of_a_range_are_byte_identical_and_match_the_manifest(seeded, editor, tmp_path, today, fmt):
    cert = Certification.objects.get(slug="soc2-type-1")
    cert.target = "Q1 2027"
    content_save(obj=cert, actor=editor, reason="moved")
    first, manifest = export(tmp_path, today, fmt, "a")
    second, manifest_again = export(tmp_path, today, fmt, "b")
    assert first == second
    head = ChainHead.objects.get()
    assert {k: v for k, v in manifest.items() if k != "generated_at"} == {
        "file": f"audit-log_{today}_{today}.{fmt}",
        "format": fmt,
        "from": today,
        "to": today,
        "row_count": head.seq,
        "first_seq": 1,
        "last_seq": head.seq,
        "sha256": hashlib.sha256(first).hexdigest(),
        "chain_head": f"{head.seq}:{head.hash}",
    }
    assert manifest_again["sha256"] == manifest["sha256"]


def test_jsonl_lines_have_sorted_keys_utc_times_and_field_changes(seeded, editor, tmp_path, today):
    cert = Certification.objects.get(slug="soc2-type-1")
    cert.target = "Q1 2027"
    content_save(obj=cert, actor=editor, reason="moved")
    data, _ = export(tmp_path, today, "jsonl")
    lines = data.decode().splitlines()
    last = json.loads(lines[-1])
    assert list(last) == sorted(last)
    link = ChainLink.objects.order_by("-seq").first()
    history = cert.history.first()
    assert last == {
        "seq": link.seq,
        "time": history.history_date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "chained_at": link.recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "model": "compliance.historicalcertification",
        "object_id": cert.pk,
        "object": "SOC 2 Type I",
        "change": "changed",
        "user": "edna",
        "reason": "moved",
        "changes": {"target": {"before": "Q4 2026", "after": "Q1 2027"}},
        "publication_version": None,
        "publication_effective_at": None,
        "row_hash": link.row_hash,
        "prev_hash": link.prev_hash,
        "link_hash": link.link_hash,
    }
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, link.seq + 1))


def test_csv_neutralises_formula_cells(seeded, editor, tmp_path, today):
    fact = GdprFact.objects.get(slug=GdprFact.objects.order_by("pk").first().slug)
    fact.label = '=HYPERLINK("http://evil.example")'
    fact.body = "+1 and -2"
    content_save(obj=fact, actor=editor, reason="@mention\tin a reason")
    data, _ = export(tmp_path, today, "csv")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    last = rows[-1]
    assert last["reason"] == "'@mention\tin a reason"
    assert last["object"] == '\'=HYPERLINK("http://evil.example")'
    assert json.loads(last["changes"])["body"]["after"] == "+1 and -2"  # JSON cells start with {
    assert last["change"] == "changed" and last["user"] == "edna"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_neutralise_cell(value, expected):
    assert neutralise_cell(value) == expected


def test_empty_range_gives_header_only_and_null_bounds(seeded, tmp_path):
    out = io.BytesIO()
    manifest = write_export(
        out,
        date_from=timezone.now().date().replace(year=2001),
        date_to=timezone.now().date().replace(year=2001),
        fmt="csv",
    )
    assert out.getvalue().decode().splitlines()[0].startswith("seq,time,chained_at,model,object_id")
    assert (manifest.row_count, manifest.first_seq, manifest.last_seq) == (0, None, None)


def test_command_refuses_reversed_dates(tmp_path, db):
    with pytest.raises(CommandError, match="--from is after --to"):
        call_command("export_audit_log", "--from", "2026-02-01", "--to", "2026-01-01", "--out", str(tmp_path))


def test_admin_export_is_an_uncached_attachment_identical_to_the_command(seeded, auditor_client, tmp_path, today):
    response = auditor_client.get(EXPORT_URL, {"date_from": today, "date_to": today, "format": "csv"})
    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"].split(", ")  # the admin adds its own never-cache
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Content-Disposition"] == f'attachment; filename="audit-log_{today}_{today}.csv"'
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    data, manifest = export(tmp_path, today, "csv")
    assert body == data
    assert response["X-Export-SHA256"] == manifest["sha256"]


def test_admin_export_manifest(seeded, auditor_client, today):
    response = auditor_client.get(
        EXPORT_URL, {"date_from": today, "date_to": today, "format": "jsonl", "manifest": "on"}
    )
    assert "no-store" in response["Cache-Control"].split(", ")
    assert response["Content-Disposition"] == f'attachment; filename="audit-log_{today}_{today}.jsonl.manifest.json"'
    manifest = json.loads(response.content)
    assert (manifest["row_count"], manifest["first_seq"], manifest["last_seq"]) == (
        ChainLink.objects.count(),
        1,
        ChainLink.objects.count(),
    )


def test_admin_export_refused_to_editor(seeded, editor_client, today):
    response = editor_client.get(EXPORT_URL, {"date_from": today, "date_to": today, "format": "csv"})
    assert response.status_code == 403


def test_admin_export_form_errors(auditor_client):
    response = auditor_client.get(EXPORT_URL, {"date_from": "2026-02-01", "date_to": "2026-01-01", "format": "csv"})
    assert response.status_code == 400
    assert "The start date is after the end date." in response.content.decode()


@pytest.mark.parametrize(
    ("date_from", "date_to"),
    [("0001-01-01", "9999-12-31"), ("2026-01-01", "9999-12-31"), ("0001-01-01", "2026-01-01")],
)
def test_admin_export_refuses_out_of_range_dates(seeded, auditor_client, date_from, date_to):
    response = auditor_client.get(EXPORT_URL, {"date_from": date_from, "date_to": date_to, "format": "csv"})
    assert response.status_code == 400
    assert "Enter a date between 1970-01-01 and 9998-12-31." in response.content.decode()
    assert "Content-Disposition" not in response


def test_audit_log_filter_refuses_out_of_range_dates(seeded, auditor_client):
    response = auditor_client.get("/admin/evidence/auditlog/", {"date_from": "0001-01-01", "date_to": "9999-12-31"})
    assert response.status_code == 200
    assert response.content.decode().count("Enter a date between 1970-01-01 and 9998-12-31.") == 2


def test_export_accepts_the_edges_of_the_range(seeded, auditor_client):
    response = auditor_client.get(EXPORT_URL, {"date_from": "1970-01-01", "date_to": "9998-12-31", "format": "csv"})
    assert response.status_code == 200
    assert int(response["X-Export-Rows"]) == ChainLink.objects.count()


@pytest.mark.parametrize(("date_from", "date_to"), [("0001-01-01", "2026-01-01"), ("2026-01-01", "9999-12-31")])
def test_command_refuses_out_of_range_dates(tmp_path, db, date_from, date_to):
    bad = date_from if date_from.startswith("0001") else date_to
    with pytest.raises(CommandError) as refused:
        call_command("export_audit_log", "--from", date_from, "--to", date_to, "--out", str(tmp_path))
    assert str(refused.value) == f"{bad}: Enter a date between 1970-01-01 and 9998-12-31."
    assert list(tmp_path.iterdir()) == []


def test_documents_are_chained_and_exported_by_file_name(seeded, editor, tmp_path, today, settings):
    from compliance.models import Document
    from evidence.verify import verify_chain
    from tests.factories import new_row

    settings.PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    document = content_save(obj=new_row(Document, editor), actor=editor, reason="SOC 2 report added")
    link = ChainLink.objects.order_by("-seq").first()
    assert (link.model_label, link.actor_id) == ("compliance.historicaldocument", editor.pk)
    data, _ = export(tmp_path, today, "jsonl")
    last = json.loads(data.decode().splitlines()[-1])
    assert (last["object"], last["change"], last["reason"]) == ("SOC 2 report", "created", "SOC 2 report added")
    assert last["changes"]["file"] == {"before": None, "after": document.file.name}
    assert verify_chain().ok
