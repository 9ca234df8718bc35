"""Builders for test data, in one place."""

import json
from pathlib import Path
from typing import Any

from compliance import services
from compliance.enums import SectionKey
from compliance.models import (
    Certification,
    ContactRoute,
    Control,
    DataHandlingRow,
    Document,
    GdprFact,
    Organization,
    Section,
    Subprocessor,
)
from tests.pdfs import pdf as pdf_bytes

SEED_PATH = Path(__file__).resolve().parents[1] / "compliance" / "seed" / "coaxiom.json"
SEED_DATA: dict[str, Any] = json.loads(SEED_PATH.read_text(encoding="utf-8"))


def save(obj, actor, reason: str = "test fixture"):
    return services.content_save(obj=obj, actor=actor, reason=reason)


def section(key: str) -> Section:
    return Section.objects.get(key=key)


def add_rows_per_section(n: int, actor, prefix: str = "x") -> None:
    """Add n extra rows to every list on the page."""
    for i in range(n):
        save(Certification(slug=f"{prefix}-cert-{i}", name=f"Cert {i}", status="planned"), actor)
        for key in (
            SectionKey.DATA_SECURITY,
            SectionKey.ACCESS_CONTROLS,
            SectionKey.INCIDENT_RESPONSE,
            SectionKey.VULNERABILITY_DISCLOSURE,
        ):
            save(
                Control(slug=f"{prefix}-{key}-{i}", section=section(key), group=f"G{i % 3}", title=f"Control {i}"),
                actor,
            )
        save(Subprocessor(slug=f"{prefix}-sub-{i}", name=f"Sub {i}", purpose="p", certifications="A, B"), actor)
        save(DataHandlingRow(slug=f"{prefix}-dh-{i}", category=f"Cat {i}", description="d"), actor)
        save(GdprFact(slug=f"{prefix}-gdpr-{i}", label=f"L {i}", body="b"), actor)
        save(ContactRoute(slug=f"{prefix}-route-{i}", label=f"R {i}", email=f"r{i}@example.com", topics="t"), actor)


def publish_draft(*, requester, approver, summary: str = "test publication", effective_at=None):
    """Ask for and approve a publication of the current draft; returns the Publication."""
    request = services.publication_request(summary=summary, actor=requester)
    return services.publication_approve(request_id=request.pk, actor=approver, effective_at=effective_at)


def new_row(model, actor):
    """An unsaved, valid row of a content model (saving prerequisites as `actor`)."""
    if model is Organization:
        return Organization(
            name="Acme",
            legal_name="Acme Ltd",
            intro="We care about security.",
            contact_email="hello@acme.test",
            security_email="security@acme.test",
            preferred_languages="en, de",
        )
    if model is Section:
        return Section(key=SectionKey.GDPR, title="GDPR", position=80)
    if model is Certification:
        return Certification(slug="iso-27001", name="ISO 27001", status="planned", target="2027")
    if model is Control:
        data_security = Section.objects.filter(key=SectionKey.DATA_SECURITY).first() or save(
            Section(key=SectionKey.DATA_SECURITY, title="Data Security", position=20), actor
        )
        return Control(
            slug="tls", section=data_security, group="Data in Transit", title="TLS 1.2+ enforced", status="in_place"
        )
    if model is Subprocessor:
        return Subprocessor(
            slug="netlify",
            name="Netlify",
            purpose="Static hosting",
            certifications="SOC 2 Type II",
            location="United States",
        )
    if model is DataHandlingRow:
        return DataHandlingRow(slug="account", category="Account data", description="Email address")
    if model is GdprFact:
        return GdprFact(slug="legal-basis", label="Legal Basis", body="Contract performance")
    if model is ContactRoute:
        return ContactRoute(slug="privacy", label="Privacy & legal", email="privacy@acme.test", topics="DPA requests")
    if model is Document:
        from django.core.files.uploadedfile import SimpleUploadedFile

        return Document(
            slug="soc2-report",
            title="SOC 2 report",
            visibility="gated",
            file=SimpleUploadedFile("soc2.pdf", pdf_bytes("report")),
        )
    raise LookupError(f"No builder for {model.__name__}")


def published_page(client, summary: str = "publish for test") -> str:
    """Publish the current draft (four-eyes satisfied by two fresh reviewers) and
    return the public page's HTML, as a visitor sees it."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    requester, _ = User.objects.get_or_create(
        username="pub-requester", defaults={"is_staff": True, "is_superuser": True}
    )
    approver, _ = User.objects.get_or_create(username="pub-approver", defaults={"is_staff": True, "is_superuser": True})
    publish_draft(requester=requester, approver=approver, summary=summary)
    return client.get("/").content.decode()
