"""The static export: every public address as the bytes Django serves, swapped
in atomically, rewritten by the worker when a publication goes live."""

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from compliance import static_export
from compliance.events import PublicationLive, publication_live
from compliance.static_export import Address, StaticExportError, export_static_site
from compliance.tasks import EXPORT_OFF, publication_go_live, static_site_export

V1 = "2026-06-01T09:00:00Z"
V2 = "2026-06-03T10:00:00Z"
V3 = "2026-06-03T15:00:00Z"


@pytest.fixture
def versions(clock, three_versions):
    """Three versions (1 June 09:00, 3 June 10:00 and 15:00 UTC), looked at the next morning."""
    clock.set(datetime(2026, 6, 4, 8, 0, tzinfo=UTC))
    return three_versions


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def as_of_files(moment: str) -> list[str]:
    return [static_export.file_path(url) for url in as_of_urls(moment)]


LIVE_URLS = [
    "/",
    "/changelog/",
    "/trust.json",
    "/.well-known/trust.json",
    "/trust.schema.json",
    "/.well-known/security.txt",
    "/feed.atom",
]


def as_of_urls(moment: str) -> list[str]:
    return [f"/as-of/{moment}/", f"/as-of/{moment}/security.txt", f"/as-of/{moment}/trust.json"]


LIVE_FILES = [
    ".well-known/security.txt",
    ".well-known/trust.json",
    "changelog/index.html",
    "feed.atom",
    "index.html",
    "static/css/print.css",
    "static/css/trust.css",
    "trust.json",
    "trust.schema.json",
]


def test_export_holds_each_public_address_as_django_serves_it(client, versions, tmp_path):
    written = export_static_site(tmp_path / "site")

    site = tmp_path / "site"
    assert site.is_symlink()
    assert site.resolve() == written
    assert files_under(site) == sorted(LIVE_FILES + as_of_files(V1) + as_of_files(V2) + as_of_files(V3))
    for url in LIVE_URLS + [as_of for moment in (V1, V2, V3) for as_of in as_of_urls(moment)]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert (site / static_export.file_path(url)).read_bytes() == response.content, url
    assert "Version 3" in (site / "index.html").read_text()
    assert "Fly.io" not in (site / "as-of" / V1 / "index.html").read_text()
    assert "Fly.io" in (site / "as-of" / V2 / "index.html").read_text()


def test_assets_are_the_collected_static_files_the_pages_reference(versions, tmp_path):
    export_static_site(tmp_path / "site")

    project_css = Path(__file__).resolve().parents[2] / "static" / "css"
    assert (tmp_path / "site/static/css/trust.css").read_bytes() == (project_css / "trust.css").read_bytes()
    assert (tmp_path / "site/static/css/print.css").read_bytes() == (project_css / "print.css").read_bytes()
    assert 'href="/static/css/trust.css"' in (tmp_path / "site/index.html").read_text()


def test_staff_only_past_versions_are_not_exported(settings, versions, tmp_path):
    settings.AS_OF_PUBLIC = False

    export_static_site(tmp_path / "site")

    assert files_under(tmp_path / "site") == LIVE_FILES


def test_files_and_folders_are_readable_by_the_web_server(versions, tmp_path):
    written = export_static_site(tmp_path / "site")

    assert oct(written.stat().st_mode & 0o777) == "0o755"
    assert oct((written / "as-of").stat().st_mode & 0o777) == "0o755"
    assert oct((written / "index.html").stat().st_mode & 0o777) == "0o644"


def test_a_new_export_swaps_the_link_and_keeps_the_newest_versions(versions, tmp_path):
    target = tmp_path / "site"
    written = [export_static_site(target, keep=2) for _ in range(4)]

    kept = tmp_path / "site.versions"
    assert sorted(p.name for p in kept.iterdir() if p.is_dir()) == sorted(p.name for p in written[2:])
    assert os.readlink(target) == f"site.versions/{written[3].name}"  # relative: the pair moves together
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftover link


def test_a_failed_write_leaves_the_served_export_intact(versions, tmp_path, monkeypatch, editor, approver):
    target = tmp_path / "site"
    first = export_static_site(target)
    before = {name: (target / name).read_bytes() for name in files_under(target)}

    def half_written(root, files):
        (root / "index.html").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(static_export, "_write_tree", half_written)
    with pytest.raises(OSError, match="disk full"):
        export_static_site(target)

    assert target.resolve() == first
    assert {name: (target / name).read_bytes() for name in files_under(target)} == before
    assert [p.name for p in (tmp_path / "site.versions").iterdir() if p.is_dir()] == [first.name]


def test_an_address_that_fails_to_render_swaps_nothing(versions, tmp_path, monkeypatch):
    target = tmp_path / "site"
    first = export_static_site(target)
    addresses = static_export.site_addresses()
    monkeypatch.setattr(static_export, "site_addresses", lambda: [*addresses, Address("/as-of/not-a-date/")])

    with pytest.raises(StaticExportError, match="/as-of/not-a-date/ answered 400; nothing was swapped"):
        export_static_site(target)

    assert target.resolve() == first
    assert [p.name for p in (tmp_path / "site.versions").iterdir() if p.is_dir()] == [first.name]


def test_nothing_is_exported_before_the_first_publication(seeded, tmp_path):
    with pytest.raises(StaticExportError, match="Nothing has been published yet"):
        export_static_site(tmp_path / "site")

    assert not (tmp_path / "site").exists()
    assert [p.name for p in (tmp_path / "site.versions").iterdir()] == [".lock"]


def test_a_real_directory_is_not_replaced(published, tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("hand made")

    with pytest.raises(StaticExportError, match="is a directory, not a link"):
        export_static_site(tmp_path / "site")

    assert (tmp_path / "site" / "index.html").read_text() == "hand made"
    assert not (tmp_path / "site.versions").exists()


def test_the_command_exports_and_says_where(published, tmp_path, capsys):
    call_command("export_static_site", str(tmp_path / "site"), "--keep", "1")

    out = capsys.readouterr().out
    written = (tmp_path / "site").resolve()
    assert out == f"Exported 12 files to {written}; {tmp_path / 'site'} now points there.\n"


def test_the_command_refuses_before_the_first_publication(seeded, tmp_path):
    with pytest.raises(CommandError, match="Nothing has been published yet"):
        call_command("export_static_site", str(tmp_path / "site"))


def test_the_command_refuses_to_keep_nothing(published, tmp_path):
    with pytest.raises(CommandError, match="At least one version must be kept"):
        call_command("export_static_site", str(tmp_path / "site"), "--keep", "0")
    assert not (tmp_path / "site").exists()


# --- the worker --------------------------------------------------------------------


def export_tasks() -> list[str]:
    return list(
        DBTaskResult.objects.filter(task_path="compliance.tasks.static_site_export").values_list("status", flat=True)
    )


def test_going_live_enqueues_the_export_when_configured(settings, clock, published, tmp_path):
    settings.STATIC_EXPORT_DIR = str(tmp_path / "site")

    assert publication_go_live.call(published.pk) == "announced"

    assert export_tasks() == ["READY"]
    written = static_site_export.call()
    assert written == str((tmp_path / "site").resolve())
    assert "Version 1" in (tmp_path / "site" / "index.html").read_text()


def test_no_export_is_enqueued_without_the_setting(settings, published):
    settings.STATIC_EXPORT_DIR = ""

    publication_live.send_now(PublicationLive(publication_id=published.pk, version=1))

    assert export_tasks() == []
    assert static_site_export.call() == EXPORT_OFF


def test_the_export_task_is_idempotent(settings, versions, tmp_path):
    settings.STATIC_EXPORT_DIR = str(tmp_path / "site")
    settings.STATIC_EXPORT_KEEP = 2

    first = Path(static_site_export.call())
    snapshot = {name: (first / name).read_bytes() for name in files_under(first)}
    second = Path(static_site_export.call())

    assert second != first
    assert {name: (second / name).read_bytes() for name in files_under(second)} == snapshot
    assert (tmp_path / "site").resolve() == second
