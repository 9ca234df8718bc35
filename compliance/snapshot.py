"""The snapshot: one plain, JSON-serialisable dict holding the whole page.

`build_snapshot()` reads the content rows and returns the dict that the page
template renders. The same dict is what a publication freezes, what the staff
preview shows, what trust.json serves, and what diffs and the audit chain
compare. Keys are stable slugs, never database ids.

It runs a fixed number of queries whatever the number of rows.
"""

import hashlib
import json
from datetime import datetime
from typing import Any

from django.db.models import IntegerField, Max, Value

from .enums import CertificationStatus, ControlStatus, SectionKey
from .models import (
    CONTENT_MODELS,
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

SNAPSHOT_SCHEMA_VERSION = 1

Snapshot = dict[str, Any]

# Sections whose body is a list of controls (grouped under optional sub-headings).
CONTROL_SECTIONS = (
    SectionKey.DATA_SECURITY,
    SectionKey.ACCESS_CONTROLS,
    SectionKey.INCIDENT_RESPONSE,
    SectionKey.VULNERABILITY_DISCLOSURE,
)


def content_last_changed_at() -> datetime | None:
    """When any content row last changed, read from the change history itself.

    One query: the newest history date of each content model, in a UNION ALL.
    """
    # Grouping by a constant makes each part a single-row aggregate that can
    # be combined; Django leaves the constant out of the SQL.
    per_model = [
        model.history.order_by()
        .annotate(one=Value(1, output_field=IntegerField()))
        .values("one")
        .annotate(latest=Max("history_date"))
        .values_list("latest", flat=True)
        for model in CONTENT_MODELS
    ]
    dates = [d for d in per_model[0].union(*per_model[1:], all=True) if d is not None]
    return max(dates) if dates else None


def _organization() -> dict[str, Any]:
    org = Organization.objects.first()
    if org is None:
        return {
            "name": "",
            "legal_name": "",
            "page_title": "Security & Compliance",
            "intro": "",
            "website": "",
            "contact_email": "",
            "security_email": "",
            "preferred_languages": [],
        }
    return {
        "name": org.name,
        "legal_name": org.legal_name,
        "page_title": org.page_title,
        "intro": org.intro,
        "website": org.website,
        "contact_email": org.contact_email,
        "security_email": org.security_email,
        "preferred_languages": [tag.strip() for tag in org.preferred_languages.split(",") if tag.strip()],
    }


def _control_groups(controls: list[Control]) -> list[dict[str, Any]]:
    """Consecutive controls with the same sub-heading form one group."""
    groups: list[dict[str, Any]] = []
    for control in controls:
        if not groups or groups[-1]["title"] != control.group:
            groups.append({"title": control.group, "items": []})
        groups[-1]["items"].append(
            {
                "slug": control.slug,
                "title": control.title,
                "body": control.body,
                "status": control.status,
                "status_label": ControlStatus(control.status).label,
            }
        )
    return groups


def snapshot_fingerprint(snapshot: Snapshot) -> str:
    """SHA-256 of the snapshot's canonical JSON (sorted keys, no spaces): the
    same content has the same fingerprint whichever database stored it."""
    canonical = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def build_snapshot() -> Snapshot:
    """Read every shown content row and return the page as a plain dict."""
    sections = list(Section.objects.all())
    key_by_section_id = {s.id: s.key for s in sections}
    controls_by_key: dict[str, list[Control]] = {}
    for control in Control.objects.filter(is_active=True).order_by("position", "id"):
        controls_by_key.setdefault(key_by_section_id[control.section_id], []).append(control)

    last_changed = content_last_changed_at()
    return {
        "schema_version": SNAPSHOT_SCHEMA_VERSION,
        "organization": _organization(),
        "content_updated_at": last_changed.isoformat() if last_changed else None,
        "sections": [
            {
                "key": s.key,
                "title": s.title,
                "intro": s.intro,
                "groups": _control_groups(controls_by_key.get(s.key, [])) if s.key in CONTROL_SECTIONS else [],
            }
            for s in sections
        ],
        "certifications": [
            {
                "slug": c.slug,
                "name": c.name,
                "status": c.status,
                "status_label": CertificationStatus(c.status).label,
                "target": c.target,
                "description": c.description,
            }
            for c in Certification.objects.filter(is_active=True)
        ],
        "subprocessors": [
            {
                "slug": p.slug,
                "name": p.name,
                "purpose": p.purpose,
                "certifications": p.certification_list,
                "location": p.location,
            }
            for p in Subprocessor.objects.filter(is_active=True)
        ],
        "data_handling": [
            {"slug": r.slug, "category": r.category, "description": r.description}
            for r in DataHandlingRow.objects.filter(is_active=True)
        ],
        "gdpr": [{"slug": f.slug, "label": f.label, "body": f.body} for f in GdprFact.objects.filter(is_active=True)],
        "contact_routes": [
            {"slug": r.slug, "label": r.label, "email": r.email, "topics": r.topics}
            for r in ContactRoute.objects.filter(is_active=True)
        ],
        # No file bytes or paths: the hash names the exact file the download serves.
        "documents": [
            {
                "slug": d.slug,
                "title": d.title,
                "description": d.description,
                "visibility": d.visibility,
                "sha256": d.sha256,
            }
            for d in Document.objects.filter(is_active=True)
        ],
    }
