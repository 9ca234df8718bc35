"""One HTTP POST to an address checked beforehand.

The connection goes to the address `webhooks.addresses.target_resolve`
returned, never to a fresh lookup of the name; the Host header and (for
https) the TLS server name and certificate check use the name. Redirects are
not followed: a 3xx answer is a failed try like any other non-2xx. Only the
status line and headers are read; the answer's body is never read.
"""

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from .addresses import IPAddress, Target

USER_AGENT = "trustcenter-webhooks/1"


@dataclass(frozen=True)
class Answer:
    status_code: int
    duration_ms: int


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, ip: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self._ip), self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, ip: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=tls_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((str(self._ip), self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def tls_context() -> ssl.SSLContext:
    """Certificates checked against the system's trust store and the URL's host name."""
    return ssl.create_default_context()


def post(target: Target, ip: IPAddress, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` to `target` over a connection to `ip`; returns the status code answered.

    Raises OSError (and http.client.HTTPException) when no answer came."""
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = cls(target.host, target.port, ip=ip, timeout=timeout)
    started = time.monotonic()
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
        )
        response = connection.getresponse()
        return Answer(status_code=response.status, duration_ms=int((time.monotonic() - started) * 1000))
    finally:
        connection.close()
