"""Two gunicorn servers and two task workers against one PostgreSQL database and one Redis.

Started as a deployment runs them (production settings, deploy/gunicorn.conf.py,
the worker command of the systemd unit), on the test database, with a Redis key prefix of their
own and the file mail backend (a mail sent by either worker lands in one folder):

- a publication approved through one server's admin is served by the other
  within a second (no response to a request started later than that is stale);
- a scheduled publication goes live on both at its moment, once (one go-live);
- the public form's rate limit counts across both servers;
- each mail is sent exactly once, with duplicate send tasks queued on purpose;
- each periodic slot runs once (`core_periodicjobslot`), with duplicates queued;
- `/readyz` is 200 on both (the workers' heartbeat reached it);
- their JSON logs name no requester and give each access line its request id.
"""

import collections
import datetime as dt
import email
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from compliance import services as publishing
from compliance.models import Publication
from compliance.services import publication_publish_initial, seed_load
from core.enums import MailStatus
from core.history import system_actor
from core.models import OutboxMail, PeriodicJobSlot
from core.outbox import send_outbox_mail
from core.schedule import RAN, SKIPPED, periodic_job_task, schedule_ensure
from tests import db_roles
from tests.conftest import TEST_SIGNING_KEY
from tests.factories import SEED_DATA, SubprocessorFactory

pytestmark = [
    pytest.mark.servers,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv" / "bin"
SECRET_KEY = "two-servers-" + secrets.token_urlsafe(48)
STALE_AFTER = 1.0  # seconds: a request started later than this after a change must see it
RATE_PER_IP = 4
# The worker as deployed: `run_worker`, which rides out a database restart.
WORKER_COMMAND = "run_worker"
WORKER = ["manage.py", WORKER_COMMAND, "--no-reload", "--no-startup-delay", "--interval", "0.2"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(
    port: int, method: str, path: str, *, body: dict | None = None, cookies: dict | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    headers = {"Host": "127.0.0.1"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    data = None
    if body is not None:
        data = urllib.parse.urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def page(port: int) -> str:
    status, _, content = request(port, "GET", "/")
    assert status == 200
    return content.decode()


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def served_within(ports: list[int], text: str, changed_at: float) -> None:
    """Poll each server until it serves `text`; a request started more than STALE_AFTER after the change
    that still lacks it fails the test."""
    for port in ports:
        while True:
            started = time.monotonic()
            if text in page(port):
                break
            assert started - changed_at <= STALE_AFTER, f"server :{port} still stale {started - changed_at:.2f}s on"
            time.sleep(0.05)


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("static")
    env = {**base_env(folder), "STATIC_ROOT": str(folder)}
    done = subprocess.run(
        [str(VENV / "python"), "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return folder


def base_env(tmp: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        "TRUSTCENTER_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "EVIDENCE_SIGNING_KEY": TEST_SIGNING_KEY,
        "EVIDENCE_LOG_ORIGIN": "trust.test/evidence",
        "DATABASE_URL": "sqlite:///:memory:",
        "CACHE_URL": "redis://127.0.0.1:6379/13",
    }


@pytest.fixture
def deployment(tmp_path, collected_static, settings) -> Iterator[dict]:
    """Two gunicorn servers (two processes each) and two workers, stopped afterwards."""
    db = connection.settings_dict
    database_url = (
        f"postgres://{db_roles.APP_ROLE}:{db_roles.APP_ROLE_PASSWORD}@{db.get('HOST') or '127.0.0.1'}:"
        f"{db.get('PORT') or 5432}/{db['NAME']}"
    )
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    ports = [free_port(), free_port()]
    env = {
        **base_env(tmp_path),
        "SITE_URL": f"http://127.0.0.1:{ports[0]}",
        "DATABASE_URL": database_url,
        "CONN_MAX_AGE": "60",
        "CACHE_URL": f"redis://127.0.0.1:6379/13?key_prefix=servers-{secrets.token_hex(6)}",
        "EMAIL_URL": f"filemail:///{mail_dir}",
        "STATIC_ROOT": str(collected_static),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
        "EVIDENCE_CHECKPOINT_FILE": str(tmp_path / "evidence-checkpoints.txt"),
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "ADMIN_MFA_REQUIRED": "false",
        "REQUEST_RATE_PER_IP": f"{RATE_PER_IP}/h",
        "HOUSEKEEPING_INTERVAL_SECONDS": "2",
        "WORKER_HEARTBEAT_INTERVAL_SECONDS": "2",
        "LOG_FORMAT": "json",
        "GUNICORN_WORKERS": "2",
    }
    # The test process signs sessions and submission tokens as the servers do.
    settings.SECRET_KEY = SECRET_KEY
    processes: list[subprocess.Popen] = []
    logs = []

    def start(name: str, args: list[str], extra: dict[str, str]) -> None:
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115  (closed below)
        logs.append(log)
        processes.append(subprocess.Popen(args, cwd=ROOT, env={**env, **extra}, stdout=log, stderr=subprocess.STDOUT))

    try:
        for i, port in enumerate(ports):
            start(
                f"web{i}",
                [str(VENV / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "trustcenter.wsgi"],
                {"GUNICORN_BIND": f"127.0.0.1:{port}"},
            )
        for i in range(2):
            start(
                f"worker{i}",
                [str(VENV / "python"), *WORKER, "--worker-id", f"worker-{i}"],
                {},
            )

        def up(port: int) -> bool:
            try:
                return request(port, "GET", "/healthz")[0] == 200
            except OSError:
                return False

        def started(port: int) -> Callable[[], bool]:
            return lambda: up(port) or any(p.poll() is not None for p in processes)

        for port in ports:
            wait_until(started(port), "gunicorn", 90)
        assert all(p.poll() is None for p in processes), [
            (tmp_path / f).read_text() for f in os.listdir(tmp_path) if f.endswith(".log")
        ]
        yield {"ports": ports, "mail_dir": mail_dir, "tmp": tmp_path}
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def sent_messages(mail_dir: Path) -> list[email.message.Message]:
    """Every message the file backend wrote, from either worker."""
    separator = "\n" + "-" * 79 + "\n"
    messages = []
    for path in sorted(mail_dir.iterdir()):
        for chunk in path.read_text().split(separator):
            if chunk.strip():
                messages.append(email.message_from_string(chunk))
    return messages


def test_two_servers_and_two_workers_on_one_database(deployment, make_staff):
    a, b = deployment["ports"]
    seed_load(data=SEED_DATA, actor=system_actor())
    publication_publish_initial(actor=system_actor())
    schedule_ensure()
    editor = make_staff("edna", "Compliance editor")
    approver = make_staff("apollo", "Compliance approver")

    # --- publication coherence: approved through A's admin, served by B within a second.
    SubprocessorFactory.create(actor=editor, slug="coherence-probe", name="Coherence Probe Hosting")
    pending = publishing.publication_request(summary="Add Coherence Probe", actor=editor)
    for port in (a, b, a, b):
        assert "Coherence Probe Hosting" not in page(port)  # warm, and old
    staff = Client()
    staff.force_login(approver)
    csrf = secrets.token_hex(16)  # 32 characters: a CSRF secret the server accepts as cookie and field
    cookies = {"sessionid": staff.cookies["sessionid"].value, "csrftoken": csrf}
    status, headers, _ = request(
        a,
        "POST",
        f"/admin/compliance/publicationrequest/{pending.pk}/approve/",
        body={"fingerprint": pending.snapshot_sha256, "when": "now", "csrfmiddlewaretoken": csrf},
        cookies=cookies,
    )
    approved_at = time.monotonic()
    assert (status, headers["Location"]) == (302, "/admin/compliance/publication/")
    assert Publication.objects.order_by("-version").values_list("version", "approved_by_id")[0] == (2, approver.pk)
    served_within([b, a], "Coherence Probe Hosting", approved_at)

    # --- a scheduled publication: live on both at its moment, gone live once.
    SubprocessorFactory.create(actor=editor, slug="scheduled-probe", name="Scheduled Probe Storage")
    pending = publishing.publication_request(summary="Add Scheduled Probe", actor=editor)
    moment = timezone.now() + dt.timedelta(seconds=3)
    scheduled = publishing.publication_approve(request_id=pending.pk, actor=approver, effective_at=moment)
    assert "Scheduled Probe Storage" not in page(a) and "Scheduled Probe Storage" not in page(b)
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()))
    served_within([a, b], "Scheduled Probe Storage", time.monotonic())

    # --- the rate limit counts across both servers; each accepted request's mail is sent once.
    run = secrets.token_hex(3)
    answers = {
        "legal_entity": "Example GmbH",
        "requester_name": "Dana Example",
        "notes": "",
        "website": "",
    }
    statuses = []
    for i, port in enumerate([a, b, a, b, a, b]):
        address = f"dana-{run}-{i}@example.org"
        body = {
            **answers,
            "requester_email": address,
            "account_email": address,
            "submission_token": secrets.token_urlsafe(32),
            "csrfmiddlewaretoken": csrf,
        }
        statuses.append(request(port, "POST", "/requests/new/dpa/", body=body, cookies={"csrftoken": csrf})[0])
    assert statuses == [302] * RATE_PER_IP + [429, 429]
    accepted = [f"dana-{run}-{i}@example.org" for i in range(RATE_PER_IP)]
    mails = list(OutboxMail.objects.values_list("pk", flat=True))
    for mail_id in mails * 3:  # duplicate send tasks: both workers race for each mail
        send_outbox_mail.enqueue(mail_id)

    # --- duplicate runs of one periodic slot: both workers race for it.
    slot = PeriodicJobSlot.objects.get(name="requests.housekeeping").next_run_at
    for _ in range(6):
        periodic_job_task.enqueue("requests.housekeeping", slot.isoformat())

    wait_until(lambda: not OutboxMail.objects.filter(status=MailStatus.QUEUED).exists(), "mail sent")
    wait_until(
        lambda: (
            not DBTaskResult.objects.filter(status__in=["READY", "RUNNING"], run_after__lte=timezone.now())
            .exclude(task_path="core.schedule.periodic_job_task")
            .exists()
            and PeriodicJobSlot.objects.get(name="requests.housekeeping").last_run_at is not None
        ),
        "tasks done",
    )
    wait_until(
        lambda: (
            DBTaskResult.objects.filter(
                task_path="core.schedule.periodic_job_task",
                args_kwargs__args=["requests.housekeeping", slot.isoformat()],
            )
            .exclude(status="SUCCESSFUL")
            .count()
            == 0
        ),
        "duplicate slot runs done",
    )

    # Each mail once: what the workers wrote to the mail folder is exactly the outbox, sent.
    sent = sent_messages(deployment["mail_dir"])
    outbox = OutboxMail.objects.all()
    assert {m.status for m in outbox} == {MailStatus.SENT}
    assert collections.Counter(m["To"] for m in sent) == collections.Counter(m.to for m in outbox)
    for address in accepted:
        assert [m["To"] for m in sent].count(address) == 1

    # The scheduled publication went live once.
    go_live = DBTaskResult.objects.filter(
        task_path="compliance.tasks.publication_go_live", args_kwargs__args=[scheduled.pk], status="SUCCESSFUL"
    )
    assert [r.return_value for r in go_live] == ["announced"]

    # Each periodic slot ran once: the duplicates were skipped.
    results = DBTaskResult.objects.filter(task_path="core.schedule.periodic_job_task", status="SUCCESSFUL")
    outcomes = collections.defaultdict(list)
    for result in results:
        outcomes[tuple(result.args_kwargs["args"])].append(result.return_value["outcome"])
    # A duplicate picked up before its slot is put back for the slot (and counts as skipped once more).
    contended = outcomes[("requests.housekeeping", slot.isoformat())]
    assert (contended.count(RAN), set(contended), len(contended) >= 7) == (1, {RAN, SKIPPED}, True), contended
    assert all(runs.count(RAN) <= 1 for runs in outcomes.values()), outcomes
    ran = collections.Counter(name for (name, _), runs in outcomes.items() if RAN in runs)
    assert ran["requests.housekeeping"] >= 2 and ran["core.heartbeat"] >= 2, ran
    # Both workers took part.
    workers = {worker for r in DBTaskResult.objects.filter(status="SUCCESSFUL") for worker in r.worker_ids}
    assert workers == {"worker-0", "worker-1"}

    # The servers' and workers' logs (JSON): no requester's address, each access line with its request id.
    logs = {name: (deployment["tmp"] / f"{name}.log").read_text() for name in ("web0", "web1", "worker0", "worker1")}
    assert [name for name, text in logs.items() if f"dana-{run}" in text] == []
    access = [
        json.loads(line)
        for name in ("web0", "web1")
        for line in logs[name].splitlines()
        if '"logger": "gunicorn.access"' in line
    ]
    posts = [entry for entry in access if '"POST /requests/new/dpa/ ' in entry["message"]]
    assert len(posts) == 6
    assert all(re.fullmatch(r"[0-9a-f]{32}", entry["request_id"]) for entry in posts), posts
    assert all(entry["message"].startswith(f"access rid={entry['request_id']} ") for entry in posts), posts

    # Both servers are ready: database, Redis, migrations, the workers' heartbeat, no mail waiting.
    for port in (a, b):
        status, headers, content = request(port, "GET", "/readyz")
        assert status == 200, content
        assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"] or "")
