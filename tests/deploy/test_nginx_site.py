"""deploy/nginx: the site and its snippets pass `nginx -t` as shipped (paths moved to a test folder)."""

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

pytestmark = pytest.mark.nginx

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def self_signed(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trust.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    for name_ in ("fullchain.pem", "chain.pem"):
        (folder / name_).write_bytes(pem)
    (folder / "privkey.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def test_the_site_passes_nginx_t(tmp_path):
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed")
    self_signed(tmp_path)
    (tmp_path / "logs").mkdir()
    site = (DEPLOY / "nginx" / "trustcenter.conf").read_text()
    for old, new in {
        "/etc/letsencrypt/live/trust.example.com": str(tmp_path),
        "/etc/nginx/snippets": str(DEPLOY / "nginx"),
        "/var/log/nginx": str(tmp_path / "logs"),
        "/srv/trustcenter": str(tmp_path / "srv"),
        "listen 80;": "listen 127.0.0.1:18080;",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": "listen 127.0.0.1:18443 ssl http2;",
        "listen [::]:443 ssl http2;": "",
    }.items():
        assert old in site, old
        site = site.replace(old, new)
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\nevents {{}}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    assert "[emerg]" not in result.stderr
