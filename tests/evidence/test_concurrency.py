"""Concurrent writers and the real command line, on committed data (PostgreSQL)."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from compliance.models import Certification, Control
from compliance.services import content_save, seed_load
from core.history import system_actor
from evidence.db import allow_history_purge
from evidence.models import ChainHead, ChainLink
from evidence.verify import verify_chain
from tests import db_roles
from tests.evidence.helpers import verify_ok_output
from tests.factories import SEED_DATA

# serialized_rollback: restore what migrations created (roles, the chain head), for the tests that follow.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ROOT = Path(__file__).resolve().parents[2]


def test_concurrent_writers_get_consecutive_sequence_numbers():
    seed_load(data=SEED_DATA, actor=system_actor())
    before = ChainHead.objects.get().seq
    slugs = list(Certification.objects.order_by("pk").values_list("slug", flat=True))
    writers, rounds = len(slugs), 4
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def work(slug: str) -> None:
        try:
            actor = system_actor()
            barrier.wait()
            for i in range(rounds):
                with transaction.atomic():
                    cert = Certification.objects.select_for_update().get(slug=slug)
                    cert.target = f"{slug} round {i}"
                    content_save(obj=cert, actor=actor, reason=f"round {i}")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(slug,)) for slug in slugs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    seqs = list(ChainLink.objects.filter(seq__gt=before).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(before + 1, before + writers * rounds + 1))
    assert ChainHead.objects.get().seq == before + writers * rounds
    assert verify_chain().ok


def run_verify(*args: str) -> subprocess.CompletedProcess:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return subprocess.run(
        [sys.executable, "manage.py", "verify_chain", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": url, "EVIDENCE_CHECKPOINT_FILE": str(settings.EVIDENCE_CHECKPOINT_FILE)},
        timeout=120,
    )


def test_verify_chain_exit_status_on_the_command_line():
    seed_load(data=SEED_DATA, actor=system_actor())
    head = ChainHead.objects.get()
    ok = run_verify("--expect-head", f"{head.seq}:{head.hash}")
    assert (ok.returncode, ok.stdout) == (0, verify_ok_output())
    with db_roles.dba() as dba, dba.transaction():
        dba.execute("SET LOCAL session_replication_role = replica")
        dba.execute("DELETE FROM evidence_chainlink WHERE seq = 7")
    broken = run_verify()
    assert broken.returncode == 1
    assert broken.stderr == "CommandError: Chain BROKEN at link 7: links 7..7 are missing (deleted or never written)\n"


def test_purge_permission_ends_with_its_transaction():
    seed_load(data=SEED_DATA, actor=system_actor())
    history_id = Control.history.order_by("history_id").values_list("history_id", flat=True).first()
    with transaction.atomic(), connection.cursor() as cursor:
        allow_history_purge(cursor, reason="retention")
        cursor.execute("UPDATE compliance_historicalcontrol SET body = 'purged' WHERE history_id = %s", [history_id])
        assert cursor.rowcount == 1
    with (
        pytest.raises(DatabaseError, match="history is append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE compliance_historicalcontrol SET body = 'again' WHERE history_id = %s", [history_id])
    assert Control.history.get(history_id=history_id).body == "purged"


def test_writers_of_several_rows_in_opposite_order_do_not_deadlock():
    """Each writer takes the head lock before its first row, so rows are
    never held while waiting for the head."""
    seed_load(data=SEED_DATA, actor=system_actor())
    first, second = Certification.objects.order_by("pk")[:2]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(order: list[Certification], pause: float) -> None:
        try:
            actor = system_actor()
            with transaction.atomic():
                row = Certification.objects.get(pk=order[0].pk)
                row.target = f"first {order[0].pk}"
                if pause:
                    content_save(obj=row, actor=actor, reason="first row")
                    barrier.wait()
                    time.sleep(pause)  # let the other writer reach its first row
                else:
                    barrier.wait()
                    content_save(obj=row, actor=actor, reason="first row")
                row = Certification.objects.get(pk=order[1].pk)
                row.target = f"second {order[1].pk}"
                content_save(obj=row, actor=actor, reason="second row")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=([first, second], 0.3)),
        threading.Thread(target=work, args=([second, first], 0)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert verify_chain().ok
