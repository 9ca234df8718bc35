"""A real HTTP receiver on loopback, and the settings webhook tests run with.

The suite is the one place that sets WEBHOOKS_ALLOW_LOOPBACK: its receiver
listens on 127.0.0.1. Tests that check refusals turn it off again.
"""

import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks import addresses


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next of `statuses` (the last one repeats)."""

    port: int
    statuses: list[int] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/in?src=trust"


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 60
    settings.WEBHOOKS_RETRY_MAX_SECONDS = 3600
    settings.WEBHOOKS_FAILURE_LIMIT = 4
    settings.WEBHOOKS_TIMEOUT_SECONDS = 5
    settings.SITE_URL = "https://trust.example.com"
    # Deliveries are sent by calling the sender in the tests, not by a worker.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 (over TLS with `tls`), until the block ends."""
    state = Receiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state.requests.append(Received(path=self.path, headers=dict(self.headers.items()), body=body))
            status = state.statuses[min(len(state.requests) - 1, len(state.statuses) - 1)]
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as state:
        yield state


@pytest.fixture(autouse=True)
def dns(monkeypatch):
    """A resolver the test fills in: name -> addresses. Unknown names do not
    resolve; hooks.example.net stands for a public address (no network needed)."""
    table: dict[str, list[str]] = {"hooks.example.net": ["93.184.215.14"]}

    def getaddrinfo(host, port, *args, **kwargs):
        try:
            addresses_of = [str(ipaddress.ip_address(host))]  # a literal (as create_connection passes)
        except ValueError:
            addresses_of = table.get(host, [])
        if not addresses_of:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        found = []
        for address in addresses_of:
            ip = ipaddress.ip_address(address)
            family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            sockaddr = (address, port, 0, 0) if ip.version == 6 else (address, port)
            found.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return found

    monkeypatch.setattr(addresses.socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.fixture
def root(make_staff):
    return make_staff("root", superuser=True)
