"""Production settings, exercised in a fresh interpreter with production environment variables."""

import importlib.util
import json
import os
import re
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import TEST_SIGNING_KEY

ROOT = Path(__file__).resolve().parents[2]
HOST = "trust.example.com"


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "TRUSTCENTER_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": HOST,
        "SITE_URL": f"https://{HOST}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
        "EVIDENCE_SIGNING_KEY": TEST_SIGNING_KEY,
        "EVIDENCE_CHECKPOINT_FILE": str(tmp_path / "evidence-checkpoints.txt"),
        # Production shares its cache between processes (rate limits); nothing
        # here connects to it.
        "CACHE_URL": "redis://127.0.0.1:6379/15" if importlib.util.find_spec("redis") else None,
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_deploy_check_passes_without_warnings(tmp_path):
    result = run(["manage.py", "check", "--deploy"], production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    # Which checks are silenced (none of Django's security ones) is asserted
    # in test_production_headers_and_cookies.
    assert re.fullmatch(r"System check identified no issues \(\d+ silenced\)\.\n", result.stdout), result.stdout
    assert "WARNING" not in result.stderr


def test_deploy_check_silences_only_preload_when_the_operator_declines_it(tmp_path):
    env = production_env(tmp_path, SECURE_HSTS_PRELOAD="false")
    result = run(["manage.py", "check", "--deploy"], env)
    assert result.returncode == 0, result.stderr
    silenced = run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(','.join(c for c in settings.SILENCED_SYSTEM_CHECKS if c.startswith('security.')))",
        ],
        {**env, "DJANGO_SETTINGS_MODULE": "trustcenter.settings"},
    )
    assert silenced.stdout.strip() == "security.W021"


@pytest.mark.parametrize("key", [None, "short-key", "django-insecure-" + "x" * 60, "a" * 60])
def test_production_refuses_to_start_without_a_real_secret_key(tmp_path, key):
    env = production_env(tmp_path)
    env.pop("SECRET_KEY")
    if key is not None:
        env["SECRET_KEY"] = key
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set to a random value of at least 50 characters in production." in result.stderr


def test_production_refuses_to_start_without_an_evidence_signing_key(tmp_path):
    env = production_env(tmp_path)
    env.pop("EVIDENCE_SIGNING_KEY")
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert (
        "EVIDENCE_SIGNING_KEY must be set in production: create one with `manage.py evidence_keygen`." in result.stderr
    )


def test_production_refuses_a_malformed_evidence_signing_key(tmp_path):
    result = run(["manage.py", "check", "--deploy"], production_env(tmp_path, EVIDENCE_SIGNING_KEY="PRIVATE+KEY+x"))
    assert result.returncode != 0
    assert (
        "(evidence.E002) EVIDENCE_SIGNING_KEY is not a valid signing key: a key string has the form name+keyid+key."
        in result.stderr
    )


@pytest.mark.parametrize("value", ["true", "1", "on"])
def test_production_refuses_to_start_with_debug_on(tmp_path, value):
    result = run(["manage.py", "check"], production_env(tmp_path, DEBUG=value))
    assert result.returncode != 0
    assert "DEBUG must be off in production: unset it or set DEBUG=false." in result.stderr


def test_production_starts_with_debug_explicitly_off(tmp_path):
    result = run(["manage.py", "check"], production_env(tmp_path, DEBUG="false"))
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"System check identified no issues \(\d+ silenced\)\.\n", result.stdout), result.stdout


PROBE = textwrap.dedent(
    """
    import json
    import django
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client, override_settings
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    get_user_model().objects.create_user("op", password="correct-horse-battery", is_staff=True)
    out = {"settings": {name: getattr(settings, name) for name in (
        "DEBUG", "ADMIN_MFA_REQUIRED", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_AGE")}}
    out["silenced_security_checks"] = [c for c in settings.SILENCED_SYSTEM_CHECKS if c.startswith("security.")]
    # The manifest is written by collectstatic at deploy time; not needed to read headers.
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}):
        client = Client(HTTP_HOST="%(host)s")
        plain = client.get("/admin/login/")
        out["plain"] = [plain.status_code, plain.get("Location")]
        health = client.get("/healthz")
        out["health"] = health.status_code
        login = client.get("/admin/login/", secure=True)
        out["login_headers"] = dict(login.items())
        out["csrf_cookie"] = dict(login.cookies["csrftoken"])
        signed_in = client.post("/admin/login/", {"username": "op", "password": "correct-horse-battery"}, secure=True)
        out["signed_in"] = [signed_in.status_code, signed_in.get("Location")]
        out["session_cookie"] = dict(signed_in.cookies["sessionid"])
        out["admin_unverified"] = client.get("/admin/", secure=True).status_code
    print(json.dumps(out))
    """
) % {"host": HOST}


def test_production_headers_and_cookies(tmp_path):
    env = production_env(tmp_path, DATABASE_URL="sqlite:///:memory:", DJANGO_SETTINGS_MODULE="trustcenter.settings")
    result = run(["-c", PROBE], env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["settings"] == {
        "DEBUG": False,
        "ADMIN_MFA_REQUIRED": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SESSION_COOKIE_AGE": 1800,
    }
    assert out["silenced_security_checks"] == []
    assert out["plain"] == [301, f"https://{HOST}/admin/login/"]
    assert out["health"] == 200  # load balancers probe over plain HTTP
    headers = out["login_headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = dict(
        part.split(maxsplit=1) if " " in part.strip() else (part.strip(), "")
        for part in (p.strip() for p in headers["Content-Security-Policy"].split(";"))
    )
    assert policy["script-src"] == "'self'"
    assert policy["upgrade-insecure-requests"] == ""
    assert out["csrf_cookie"]["secure"] is True
    assert out["csrf_cookie"]["httponly"] is True
    assert out["csrf_cookie"]["samesite"] == "Lax"
    # MFA is on by default: a staff member without an authenticator must enrol first.
    assert out["signed_in"] == [302, "/admin/mfa/enrol/"]
    assert out["session_cookie"]["secure"] is True
    assert out["session_cookie"]["httponly"] is True
    assert out["session_cookie"]["samesite"] == "Lax"
    assert out["admin_unverified"] == 302


DB_PROBE = (
    "import json, django; django.setup(); from django.conf import settings; d = settings.DATABASES['default']; "
    "print(json.dumps([d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'], d.get('OPTIONS', {}), "
    "settings.DATABASE_UNAVAILABLE_RETRY_AFTER]))"
)


@pytest.mark.parametrize(
    "environment,overrides,expected",
    [
        ("production", {}, [600, True, {"connect_timeout": 5}, 5]),
        ("development", {}, [0, True, {"connect_timeout": 5}, 5]),
        ("production", {"CONN_MAX_AGE": "60", "DATABASE_CONNECT_TIMEOUT": "2"}, [60, True, {"connect_timeout": 2}, 5]),
        ("production", {"CONN_HEALTH_CHECKS": "false"}, [600, False, {"connect_timeout": 5}, 5]),
    ],
)
def test_production_keeps_database_connections_with_health_checks(tmp_path, environment, overrides, expected):
    env = production_env(
        tmp_path,
        TRUSTCENTER_ENV=environment,
        DATABASE_URL="postgres://app:secret@db.example.internal:5432/trustcenter",
        DJANGO_SETTINGS_MODULE="trustcenter.settings",
        **overrides,
    )
    result = run(["-c", DB_PROBE], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected
