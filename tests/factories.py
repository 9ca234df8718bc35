"""Builders for test data, in one place."""

import json
from pathlib import Path
from typing import Any

from compliance import services
from compliance.enums import SectionKey
from compliance.models import (
    Certification, ContactRoute, Control, DataHandlingRow, GdprFact, Section, Subprocessor,
)

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
        for key in (SectionKey.DATA_SECURITY, SectionKey.ACCESS_CONTROLS,
                    SectionKey.INCIDENT_RESPONSE, SectionKey.VULNERABILITY_DISCLOSURE):
            save(Control(slug=f"{prefix}-{key}-{i}", section=section(key), group=f"G{i % 3}",
                         title=f"Control {i}"), actor)
        save(Subprocessor(slug=f"{prefix}-sub-{i}", name=f"Sub {i}", purpose="p", certifications="A, B"), actor)
        save(DataHandlingRow(slug=f"{prefix}-dh-{i}", category=f"Cat {i}", description="d"), actor)
        save(GdprFact(slug=f"{prefix}-gdpr-{i}", label=f"L {i}", body="b"), actor)
        save(ContactRoute(slug=f"{prefix}-route-{i}", label=f"R {i}", email=f"r{i}@example.com", topics="t"), actor)


def publish_draft(*, requester, approver, summary: str = "test publication", effective_at=None):
    """Ask for and approve a publication of the current draft; returns the Publication."""
    request = services.publication_request(summary=summary, actor=requester)
    return services.publication_approve(request_id=request.pk, actor=approver, effective_at=effective_at)
