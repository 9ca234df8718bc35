"""deploy/backup.sh and deploy/restore.sh: a pg_dump of a database with chained
records, restored into a new database, verifies with verify_chain."""

import io
import os
import secrets
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from compliance.services import publication_publish_initial, seed_load
from core.history import system_actor
from evidence.checkpoints import checkpoint_sign
from evidence.enums import CheckpointReason
from tests.conftest import TEST_SIGNING_KEY
from tests.factories import SEED_DATA

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROOT = Path(__file__).resolve().parents[2]


def database_url(name: str) -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{name}"


def admin_sql(sql: str) -> None:
    s = connection.settings_dict
    with psycopg.connect(
        dbname="postgres",
        user=s["USER"],
        password=s.get("PASSWORD") or None,
        host=s.get("HOST") or "127.0.0.1",
        port=s.get("PORT") or 5432,
        autocommit=True,
    ) as conn:
        conn.execute(sql)


@pytest.fixture
def new_database():
    name = f"{connection.settings_dict['NAME']}_restore_{secrets.token_hex(4)}"
    admin_sql(f'CREATE DATABASE "{name}"')
    yield name
    admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def script_env(tmp_path: Path, database: str, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DATABASE_URL": database_url(database),
        "EVIDENCE_SIGNING_KEY": TEST_SIGNING_KEY,
        "EVIDENCE_LOG_ORIGIN": "trust.test/evidence",
        "PYTHON": str(ROOT / ".venv/bin/python"),
        **extra,
    }


def run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "deploy" / script), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def chained(settings, tmp_path):
    """A database with chained records (seed content, publication, a signed checkpoint) and a private file."""
    seed_load(data=SEED_DATA, actor=system_actor())
    publication_publish_initial(actor=system_actor())
    checkpoint_sign(reason=CheckpointReason.PERIODIC)
    private = Path(settings.PRIVATE_MEDIA_ROOT)
    (private / "tickets").mkdir(parents=True)
    (private / "tickets" / "countersigned.pdf").write_bytes(b"%PDF-1.4 test")
    out = io.StringIO()
    call_command("verify_chain", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Chain OK: ") and lines[1].startswith("Log OK: ")
    return lines


def backup(tmp_path: Path, settings) -> Path:
    env = script_env(
        tmp_path,
        connection.settings_dict["NAME"],
        EVIDENCE_CHECKPOINT_FILE=str(settings.EVIDENCE_CHECKPOINT_FILE),
        PRIVATE_MEDIA_ROOT=str(settings.PRIVATE_MEDIA_ROOT),
    )
    made = run("backup.sh", str(tmp_path / "backups"), env=env)
    assert made.returncode == 0, made.stderr
    folder = Path(made.stdout.strip())
    assert folder.parent == tmp_path / "backups"
    assert sorted(p.name for p in folder.iterdir()) == [
        "SHA256SUMS",
        "database.dump",
        "evidence-checkpoints.txt",
        "private.tar",
    ]
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    return folder


def test_a_restored_backup_verifies_in_a_new_database(chained, settings, tmp_path, new_database):
    folder = backup(tmp_path, settings)
    assert TEST_SIGNING_KEY.split("+")[-1] not in (folder / "database.dump").read_bytes().decode("latin-1")
    target = tmp_path / "restored"
    env = script_env(
        tmp_path,
        new_database,
        EVIDENCE_CHECKPOINT_FILE=str(target / "evidence-checkpoints.txt"),
        PRIVATE_MEDIA_ROOT=str(target / "private"),
    )
    restored = run("restore.sh", str(folder), env=env)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.splitlines() == chained
    assert (target / "evidence-checkpoints.txt").read_bytes() == Path(settings.EVIDENCE_CHECKPOINT_FILE).read_bytes()
    assert (target / "private" / "tickets" / "countersigned.pdf").read_bytes() == b"%PDF-1.4 test"

    # verify_chain on its own, on the new database: exit 0 and the same OK lines.
    verified = subprocess.run(
        [env["PYTHON"], "manage.py", "verify_chain"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.splitlines() == chained

    # A second restore into the now-filled database is refused and changes nothing.
    again = run("restore.sh", str(folder), env={**env, "PRIVATE_MEDIA_ROOT": str(tmp_path / "elsewhere")})
    assert again.returncode == 2
    assert "restore.sh: the target database already has" in again.stderr
    assert not (tmp_path / "elsewhere").exists()


def test_a_damaged_backup_is_refused(chained, settings, tmp_path, new_database):
    folder = backup(tmp_path, settings)
    dump = folder / "database.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    env = script_env(
        tmp_path,
        new_database,
        EVIDENCE_CHECKPOINT_FILE=str(tmp_path / "restored" / "evidence-checkpoints.txt"),
        PRIVATE_MEDIA_ROOT=str(tmp_path / "restored" / "private"),
    )
    refused = run("restore.sh", str(folder), env=env)
    assert refused.returncode == 2
    assert f"restore.sh: {folder} does not match its SHA256SUMS; nothing restored" in refused.stderr
    assert not (tmp_path / "restored").exists()
    with psycopg.connect(database_url(new_database)) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
