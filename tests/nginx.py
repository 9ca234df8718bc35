"""Debian's nginx run by a test: as this user, in a folder of the test, on its own ports."""

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def needs_nginx() -> None:
    """Skip without nginx; in CI (CI=true) fail instead, as scripts/test installs it."""
    if not Path(NGINX).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is missing; CI must run the nginx tests.")
        pytest.skip("nginx is not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def nginx_running(prefix: Path, http_block: str, port: int) -> Iterator[None]:
    """nginx with `http_block` inside its `http {}` (temporary files and logs under
    `prefix`), until the block ends; it is up once `port` accepts connections."""
    needs_nginx()
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    # Started as root, nginx would hand its workers to "nobody", who cannot read a test's files.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"  {kind}_temp_path {prefix}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    error_log = prefix / "logs" / "error.log"
    (prefix / "nginx.conf").write_text(
        f"{user}\nworker_processes 1;\ndaemon off;\npid {prefix}/nginx.pid;\nerror_log {error_log};\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n{temp}\n{http_block}\n}}\n"
    )
    process = subprocess.Popen(
        [NGINX, "-e", str(error_log), "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(error_log.read_text()) from None
                time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)
