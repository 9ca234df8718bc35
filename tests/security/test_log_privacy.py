"""Logs carry no personal data and no secrets, name the request each line belongs to, and can be JSON."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from core.models import OutboxMail
from core.outbox import outbox_send_due
from tests.requests_app.helpers import DPA_ANSWERS, fresh_rate_limits, post_form  # noqa: F401 (autouse fixture)
from trustcenter.logcontext import JsonFormatter, logging_config
from trustcenter.logmask import EMAIL_MASK, MASK, mask

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
MARKER_EMAIL = "marker-q7x3k@leak-probe.example"
MARKER_ACCOUNT = "Marker-Account-q7x3k@Leak-Probe.example"
DOWN = "tests.requests_app.mail_backends.SmtpDownBackend"


def everything_logged(records: list[logging.LogRecord]) -> str:
    """Every text a handler could write from the records, in the plain and the JSON format."""
    plain = logging.Formatter(logging_config("plain", "INFO")["formatters"]["plain"]["format"])
    texts = []
    for record in records:
        texts += [record.getMessage(), str(record.msg), repr(record.args), plain.format(record)]
        texts += [JsonFormatter().format(record), record.exc_text or "", record.stack_info or ""]
    return "\n".join(texts)


def test_a_dpa_request_and_its_mail_log_no_address(caplog, seeded, settings):
    caplog.set_level(logging.DEBUG)  # the root logger, as any handler sees it
    client = Client()
    answers = {**DPA_ANSWERS, "requester_email": MARKER_EMAIL, "account_email": MARKER_ACCOUNT}
    response = post_form(client, "/requests/new/dpa/", answers)
    assert response.status_code == 302
    # Mail refused by the server (whose error names the recipient), then sent.
    settings.EMAIL_BACKEND = DOWN
    assert outbox_send_due()["retry"] == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutboxMail.objects.update(next_attempt_at=timezone.now())
    assert outbox_send_due()["sent"] == 1
    assert [m.to for m in mail.outbox] == [[MARKER_EMAIL]]  # the mail itself does carry it
    # A lookup of a page that does not exist, with the address in its path and query.
    assert client.get(f"/requests/{MARKER_EMAIL}/?email={MARKER_EMAIL}").status_code == 404
    # An error whose text names the address, logged with its traceback.
    try:
        raise ValueError(f"refused recipient <{MARKER_EMAIL}>")
    except ValueError:
        logging.getLogger("core.outbox").exception("Sending to %s failed", MARKER_EMAIL)

    logged = everything_logged(caplog.records)
    assert any(r.name == "django.request" for r in caplog.records)  # the 404 was logged
    for marker in ("q7x3k", "leak-probe", "Leak-Probe"):
        assert marker not in logged
    assert f"Not Found: /requests/{EMAIL_MASK}/" in logged
    assert f"refused recipient <{EMAIL_MASK}>" in logged


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("to ann@example.org.", f"to {EMAIL_MASK}."),
        ("user=Ann.B+tag@Mail.Example.co.uk,", f"user={EMAIL_MASK},"),
        ("/x/?to=ann%40example.org&y=1", f"/x/?to={EMAIL_MASK}&y=1"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", f"Authorization: Bearer {MASK}"),
        ("no address here @ all", "no address here @ all"),
    ],
)
def test_addresses_and_bearer_tokens_are_masked(text, masked):
    assert mask(text) == masked


def test_each_response_names_its_request_id_and_so_does_each_log_line(caplog):
    caplog.set_level(logging.INFO)
    client = Client()
    generated = client.get("/no-such-page/")["X-Request-ID"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert client.get("/healthz")["X-Request-ID"] != generated  # one per request
    incoming = "edge-4f2c.9:1"
    assert client.get("/no-such-page/", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"] == incoming
    not_found = [r for r in caplog.records if r.name == "django.request"]
    assert [r.request_id for r in not_found] == [generated, incoming]
    logging.getLogger("core").info("outside any request")
    assert caplog.records[-1].request_id == "-"


@pytest.mark.parametrize("incoming", ["", "a" * 129, "bad id", "line\nbreak", "é-accent", "-leading", "<script>"])
def test_an_insane_incoming_request_id_is_replaced(incoming):
    answered = Client().get("/healthz", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"]
    assert answered != incoming
    assert len(answered) == 32 and int(answered, 16) >= 0


PROBE = """
import django
django.setup()
import logging
from django.test import Client
from django.utils import timezone
Client().get("/requests/marker@leak-probe.example/", HTTP_X_REQUEST_ID="probe-1")
logging.getLogger("probe").warning("outside %s", "x@leak-probe.example")
"""


def run_probe(log_format: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "trustcenter.settings",
        "DATABASE_URL": "sqlite:///:memory:",
        "LOG_FORMAT": log_format,
    }
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_log_format_json_writes_one_object_a_line():
    result = run_probe("json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(e["level"], e["logger"], e["request_id"], e["message"]) for e in lines] == [
        ("WARNING", "django.request", "probe-1", f"Not Found: /requests/{EMAIL_MASK}/"),
        ("WARNING", "probe", "-", f"outside {EMAIL_MASK}"),
    ]
    assert all(e["time"].endswith("+00:00") for e in lines)


def test_log_format_plain_names_the_request_id():
    result = run_probe("plain")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        f"WARNING django.request [probe-1] Not Found: /requests/{EMAIL_MASK}/",
        f"WARNING probe [-] outside {EMAIL_MASK}",
    ]


def test_an_unknown_log_format_is_refused():
    result = run_probe("xml")
    assert result.returncode != 0
    assert "LOG_FORMAT must be 'plain' or 'json'." in result.stderr
