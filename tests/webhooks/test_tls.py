"""https: the connection goes to the checked address while TLS names the host
(SNI) and the certificate is checked against the name."""

import datetime as dt
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from webhooks import services, transport
from webhooks.delivery import deliveries_queue, delivery_send_one
from webhooks.models import WebhookAttempt

from .conftest import serving

pytestmark = pytest.mark.django_db

NOW = dt.datetime.now(dt.UTC)


def _cert(subject: str, issuer: x509.Name, key, signer, *, ca: bool, serial: int) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture
def pki(tmp_path, monkeypatch):
    """A test CA the sender trusts; `server_context(name)` serves a certificate for `name` signed by it."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Webhook test CA")])
    ca = _cert("Webhook test CA", ca_name, ca_key, ca_key, ca=True, serial=1)
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    monkeypatch.setattr(transport, "tls_context", lambda: ssl.create_default_context(cafile=tmp_path / "ca.pem"))
    names: list[str | None] = []

    def server_context(name: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = _cert(name, ca_name, key, ca_key, ca=False, serial=2)
        (tmp_path / "leaf.pem").write_bytes(
            leaf.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp_path / "leaf.pem")
        context.sni_callback = lambda sock, server_name, ctx: names.append(server_name)
        return context

    server_context.names = names  # type: ignore[attr-defined]
    return server_context


def send_to(root, dns, url: str) -> str:
    dns["secure.example"] = ["127.0.0.1"]
    services.endpoint_create(
        name="TLS", url=url, events=["ticket.created"], payload_format="standard", actor=root, reason="r"
    )
    (delivery_id,) = deliveries_queue(event_type="ticket.created", data={"reference": "DPA-1", "kind": "dpa"})
    return delivery_send_one(delivery_id=delivery_id)


def test_https_connects_to_the_checked_address_with_the_name_in_sni_and_host(root, dns, pki):
    with serving(tls=pki("secure.example")) as receiver:
        assert send_to(root, dns, f"https://secure.example:{receiver.port}/in") == "delivered"
    (request,) = receiver.requests
    assert request.headers["Host"] == f"secure.example:{receiver.port}"
    assert pki.names == ["secure.example"]


def test_a_certificate_for_another_name_is_a_failed_try(root, dns, pki):
    with serving(tls=pki("other.example")) as receiver:
        assert send_to(root, dns, f"https://secure.example:{receiver.port}/in") == "retry"
    assert receiver.requests == []
    attempt = WebhookAttempt.objects.get()
    assert (attempt.status_code, attempt.error.split(":")[0]) == (None, "SSLCertVerificationError")
