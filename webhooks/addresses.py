"""Where a webhook may go: public addresses only (no SSRF into the network the
trust center runs in).

An endpoint URL is checked when it is saved (`target_check`, which resolves the
name) and again before every try (`target_resolve`): the name is resolved once,
every address it gives must be public, and the request then connects to that
checked address (`webhooks.transport`), so a name that changes its answer
between the check and the connection (DNS rebinding) reaches nothing else.

Refused: loopback, link-local, private, unspecified, multicast, reserved and
shared (carrier-grade NAT) addresses, IPv4 and IPv6 alike; an IPv6 address
carrying an IPv4 one (IPv4-mapped, 6to4, NAT64) is judged by the IPv4 address
it carries. Only `WEBHOOKS_ALLOW_LOOPBACK` (the test suite's receiver) lets
loopback through. The scheme is https, or also http where
`WEBHOOKS_ALLOW_HTTP` is on (DEBUG by default). URLs with a user or password
are refused: a secret belongs in the signing secret, not the URL's userinfo.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from core.text import validate_single_line

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

URL_MAX_LENGTH = 2000
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True)
class Target:
    """An endpoint URL taken apart: what to connect to and what to ask for."""

    scheme: str
    host: str  # the name (IDNA-encoded) or the address, as the Host header and SNI carry it
    port: int
    path: str  # path and query, at least "/"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(ip: IPAddress) -> str | None:
    """Why a connection to `ip` is refused ("loopback", "private", …), or None if it is allowed."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return address_refusal(embedded)
    if ip.is_loopback:
        return None if settings.WEBHOOKS_ALLOW_LOOPBACK else "loopback"
    for label in ("unspecified", "link_local", "multicast", "reserved", "private"):
        if getattr(ip, f"is_{label}"):
            return label.replace("_", "-")
    if not ip.is_global:
        return "not public"
    return None


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def target_parse(url: str) -> Target:
    """Check the URL's form (scheme, no userinfo, a host); raises ValidationError with a code."""
    url = (url or "").strip()
    if not url:
        raise _refuse("Enter the endpoint's URL.", "webhook_url_required")
    if len(url) > URL_MAX_LENGTH or any(ch.isspace() for ch in url):
        raise _refuse("The URL is too long or contains spaces.", "webhook_url_invalid")
    validate_single_line(url)
    parts = urlsplit(url)
    allowed = ("https", "http") if settings.WEBHOOKS_ALLOW_HTTP else ("https",)
    if parts.scheme.lower() not in allowed:
        raise _refuse("The URL must start with https://.", "webhook_url_scheme")
    if parts.username is not None or parts.password is not None:
        raise _refuse("The URL may not carry a user name or password.", "webhook_url_userinfo")
    if parts.fragment:
        raise _refuse("The URL may not carry a fragment (#…).", "webhook_url_invalid")
    try:
        port = parts.port
    except ValueError:
        raise _refuse("The URL's port is not a number between 0 and 65535.", "webhook_url_invalid") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _refuse("The URL names no host.", "webhook_url_invalid")
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise _refuse("The URL's host name is not valid.", "webhook_url_invalid") from None
    scheme = parts.scheme.lower()
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80), path=path)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` stands for (itself, if an address), in the resolver's order."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    found: list[IPAddress] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if ip not in found:
            found.append(ip)
    return found


def target_resolve(target: Target) -> IPAddress:
    """Resolve the target's host once and return the address to connect to.

    Raises ValidationError ("webhook_address_refused") when any address the
    name gives is refused, and ("webhook_host_unresolved") when it gives none."""
    try:
        addresses = resolve(target.host, target.port)
    except OSError:
        addresses = []
    if not addresses:
        raise _refuse(f"The host {target.host} could not be resolved.", "webhook_host_unresolved")
    for ip in addresses:
        refusal = address_refusal(ip)
        if refusal is not None:
            raise _refuse(
                f"The host {target.host} resolves to a {refusal} address ({ip}); webhooks go to public addresses only.",
                "webhook_address_refused",
            )
    return addresses[0]


def target_check(url: str) -> Target:
    """The check when an endpoint is saved: the URL's form, and every address its host resolves to now."""
    target = target_parse(url)
    target_resolve(target)
    return target
