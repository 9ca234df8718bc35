"""build_snapshot(): the page as one plain dict, in a fixed number of queries."""

import json

from django.db.models import Max

from compliance.enums import SectionKey
from compliance.models import (
    CONTENT_MODELS,
    Certification,
    ContactRoute,
    Control,
    DataHandlingRow,
    GdprFact,
    Organization,
    Section,
    Subprocessor,
)
from compliance.services import content_delete
from compliance.snapshot import build_snapshot, content_last_changed_at
from core.history import system_actor
from tests.factories import add_rows_per_section, save

SNAPSHOT_QUERIES = 10  # sections, controls, organization, six lists, newest history date


def _latest_history_date():
    return max(m.history.aggregate(d=Max("history_date"))["d"] for m in CONTENT_MODELS if m.history.exists())


def test_snapshot_holds_shown_rows_in_order_keyed_by_slug(db):
    actor = system_actor()
    save(
        Organization(
            name="Acme",
            legal_name="Acme Ltd",
            page_title="Trust",
            intro="Hello.",
            website="acme.test",
            contact_email="hi@acme.test",
            security_email="sec@acme.test",
            preferred_languages="en, de ,",
        ),
        actor,
    )
    save(Section(key=SectionKey.DATA_SECURITY, title="Data Security", intro="Encrypted.", position=20), actor)
    save(Section(key=SectionKey.CERTIFICATIONS, title="Certifications", position=10), actor)
    save(Section(key=SectionKey.GDPR, title="GDPR", position=30), actor)
    security = Section.objects.get(key=SectionKey.DATA_SECURITY)
    save(Certification(slug="iso", name="ISO 27001", status="planned", target="2027", position=20), actor)
    save(Certification(slug="soc2", name="SOC 2", status="achieved", position=10), actor)
    save(Certification(slug="old", name="Old", status="achieved", is_active=False), actor)
    save(Control(slug="tls", section=security, group="In transit", title="TLS", body="1.2+", position=1), actor)
    save(Control(slug="hsts", section=security, group="In transit", title="HSTS", position=2), actor)
    save(Control(slug="aes", section=security, group="At rest", title="AES", status="planned", position=3), actor)
    save(Control(slug="gone", section=security, group="At rest", title="Gone", is_active=False, position=4), actor)
    save(
        Subprocessor(slug="net", name="Netlify", purpose="Hosting", certifications="SOC 2, ,ISO ", location="US"), actor
    )
    save(DataHandlingRow(slug="acct", category="Account", description="Email"), actor)
    save(GdprFact(slug="basis", label="Legal basis", body="Contract"), actor)
    save(ContactRoute(slug="privacy", label="Privacy", email="privacy@acme.test", topics="DPA"), actor)

    snapshot = build_snapshot()

    assert snapshot == {
        "schema_version": 1,
        "organization": {
            "name": "Acme",
            "legal_name": "Acme Ltd",
            "page_title": "Trust",
            "intro": "Hello.",
            "website": "acme.test",
            "contact_email": "hi@acme.test",
            "security_email": "sec@acme.test",
            "preferred_languages": ["en", "de"],
        },
        "content_updated_at": _latest_history_date().isoformat(),
        "sections": [
            {"key": "certifications", "title": "Certifications", "intro": "", "groups": []},
            {
                "key": "data-security",
                "title": "Data Security",
                "intro": "Encrypted.",
                "groups": [
                    {
                        "title": "In transit",
                        "items": [
                            {
                                "slug": "tls",
                                "title": "TLS",
                                "body": "1.2+",
                                "status": "in_place",
                                "status_label": "In place",
                            },
                            {
                                "slug": "hsts",
                                "title": "HSTS",
                                "body": "",
                                "status": "in_place",
                                "status_label": "In place",
                            },
                        ],
                    },
                    {
                        "title": "At rest",
                        "items": [
                            {"slug": "aes", "title": "AES", "body": "", "status": "planned", "status_label": "Planned"},
                        ],
                    },
                ],
            },
            {"key": "gdpr", "title": "GDPR", "intro": "", "groups": []},
        ],
        "certifications": [
            {
                "slug": "soc2",
                "name": "SOC 2",
                "status": "achieved",
                "status_label": "Achieved",
                "target": "",
                "description": "",
            },
            {
                "slug": "iso",
                "name": "ISO 27001",
                "status": "planned",
                "status_label": "Planned",
                "target": "2027",
                "description": "",
            },
        ],
        "subprocessors": [
            {
                "slug": "net",
                "name": "Netlify",
                "purpose": "Hosting",
                "certifications": ["SOC 2", "ISO"],
                "location": "US",
            },
        ],
        "data_handling": [{"slug": "acct", "category": "Account", "description": "Email"}],
        "gdpr": [{"slug": "basis", "label": "Legal basis", "body": "Contract"}],
        "contact_routes": [{"slug": "privacy", "label": "Privacy", "email": "privacy@acme.test", "topics": "DPA"}],
        "documents": [],
    }
    assert json.loads(json.dumps(snapshot)) == snapshot


def test_snapshot_of_empty_content(db):
    assert build_snapshot() == {
        "schema_version": 1,
        "organization": {
            "name": "",
            "legal_name": "",
            "page_title": "Security & Compliance",
            "intro": "",
            "website": "",
            "contact_email": "",
            "security_email": "",
            "preferred_languages": [],
        },
        "content_updated_at": None,
        "sections": [],
        "certifications": [],
        "subprocessors": [],
        "data_handling": [],
        "gdpr": [],
        "contact_routes": [],
        "documents": [],
    }


def test_snapshot_takes_the_same_number_of_queries_for_1_and_30_rows_per_list(seeded, django_assert_num_queries):
    actor = system_actor()
    add_rows_per_section(1, actor, prefix="a")
    with django_assert_num_queries(SNAPSHOT_QUERIES):
        small = build_snapshot()

    add_rows_per_section(29, actor, prefix="b")
    with django_assert_num_queries(SNAPSHOT_QUERIES):
        large = build_snapshot()

    assert (len(small["certifications"]), len(large["certifications"])) == (7, 36)
    assert (len(small["contact_routes"]), len(large["contact_routes"])) == (3, 32)
    access = next(s for s in large["sections"] if s["key"] == "access-controls")
    assert sum(len(g["items"]) for g in access["groups"]) == 6 + 30


def test_content_updated_at_is_the_newest_history_row(seeded):
    assert build_snapshot()["content_updated_at"] == _latest_history_date().isoformat()


def test_an_edit_moves_content_updated_at(seeded, editor):
    before = content_last_changed_at()
    cert = Certification.objects.get(slug="soc2-type-1")
    cert.target = "Q1 2027"
    save(cert, editor, "audit moved")

    after = build_snapshot()["content_updated_at"]

    assert after == cert.history.latest("history_date").history_date.isoformat()
    assert after > before.isoformat()


def test_a_retirement_and_a_delete_move_content_updated_at(seeded, editor):
    route = ContactRoute.objects.get(slug="security")
    route.is_active = False
    save(route, editor, "merged into privacy")
    retired_at = content_last_changed_at()

    content_delete(obj=DataHandlingRow.objects.get(slug="training-data"), actor=editor, reason="merged")

    deleted_at = content_last_changed_at()
    assert deleted_at is not None
    assert retired_at is not None
    assert deleted_at > retired_at
    assert deleted_at == DataHandlingRow.history.filter(history_type="-").get().history_date
