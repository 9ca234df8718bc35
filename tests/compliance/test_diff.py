"""snapshot_diff: a pure function over snapshot dicts, told in sentences."""

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from compliance.diff import Change, snapshot_diff, snapshots_differ

LONG_BODY = "affected users notified within 72 hours of confirmed incident, per GDPR Article 33 and our own policy"


def control(slug: str, title: str, body: str = "", status: str = "in_place") -> dict[str, Any]:
    label = {"in_place": "In place", "planned": "Planned"}[status]
    return {"slug": slug, "title": title, "body": body, "status": status, "status_label": label}


def base() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "content_updated_at": "2026-05-01T10:00:00+00:00",
        "organization": {
            "name": "Coaxiom",
            "legal_name": "Coaxiom LLC",
            "page_title": "Security & Compliance",
            "intro": "We publish our posture.",
            "website": "coaxiom.io",
            "contact_email": "trust@coaxiom.io",
            "security_email": "security@coaxiom.io",
            "preferred_languages": ["en"],
        },
        "sections": [
            {"key": "certifications", "title": "Certification Status", "intro": "", "groups": []},
            {
                "key": "data-security",
                "title": "Data Security",
                "intro": "Encryption everywhere.",
                "groups": [
                    {"title": "Data in Transit", "items": [control("tls", "TLS 1.2+"), control("hsts", "HSTS")]},
                    {"title": "Data at Rest", "items": [control("aes", "AES-256")]},
                ],
            },
            {
                "key": "incident-response",
                "title": "Incident Response",
                "intro": "",
                "groups": [
                    {
                        "title": "",
                        "items": [
                            control("breach-notification", "Breach notification", "72 hours"),
                            control("incident-log", "Incident log", LONG_BODY),
                        ],
                    },
                ],
            },
        ],
        "certifications": [
            {
                "slug": "soc2-type-1",
                "name": "SOC 2 Type I",
                "status": "in_progress",
                "status_label": "In progress",
                "target": "Q4 2026",
                "description": "Building controls.",
            },
            {
                "slug": "iso-27001",
                "name": "ISO 27001",
                "status": "planned",
                "status_label": "Planned",
                "target": "",
                "description": "",
            },
        ],
        "subprocessors": [
            {
                "slug": "netlify",
                "name": "Netlify",
                "purpose": "Hosting",
                "certifications": ["SOC 2 Type II"],
                "location": "United States",
            },
            {
                "slug": "supabase",
                "name": "Supabase",
                "purpose": "Database",
                "certifications": [],
                "location": "United States",
            },
        ],
        "data_handling": [{"slug": "account", "category": "Account data", "description": "Email address"}],
        "gdpr": [{"slug": "controller", "label": "Data Controller", "body": "Coaxiom LLC"}],
        "contact_routes": [
            {"slug": "privacy", "label": "Privacy & legal", "email": "privacy@coaxiom.io", "topics": "DPA requests"}
        ],
    }


def items(snapshot: dict[str, Any], section_key: str) -> list[dict[str, Any]]:
    section = next(s for s in snapshot["sections"] if s["key"] == section_key)
    return [i for g in section["groups"] for i in g["items"]]


def find_control(snapshot: dict[str, Any], slug: str) -> dict[str, Any]:
    return next(i for s in snapshot["sections"] for g in s["groups"] for i in g["items"] if i["slug"] == slug)


def texts(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    return [c.text for c in snapshot_diff(old, new)]


# --- no change ---------------------------------------------------------------


def test_identical_snapshots_have_no_changes():
    assert snapshot_diff(base(), base()) == []
    assert snapshots_differ(base(), base()) is False


def test_snapshot_bookkeeping_keys_are_not_changes():
    new = base()
    new["content_updated_at"] = "2026-06-01T10:00:00+00:00"
    new["schema_version"] = 2

    assert snapshot_diff(base(), new) == []
    assert snapshots_differ(base(), new) is False


# --- the sentences of the brief --------------------------------------------------


def test_subprocessor_added():
    new = base()
    new["subprocessors"].append(
        {"slug": "fly", "name": "Fly.io", "purpose": "Compute", "certifications": [], "location": "EU"}
    )

    assert snapshot_diff(base(), new) == [
        Change("subprocessors", "added", "fly", "", None, "Fly.io", "Subprocessor added: Fly.io"),
    ]


def test_control_body_change_reads_old_to_new():
    new = base()
    find_control(new, "breach-notification")["body"] = "48 hours"

    assert snapshot_diff(base(), new) == [
        Change(
            "controls",
            "changed",
            "breach-notification",
            "body",
            "72 hours",
            "48 hours",
            "Breach notification: 72 hours -> 48 hours",
        ),
    ]


def test_certification_status_change_uses_the_shown_labels():
    new = base()
    new["certifications"][0].update(status="achieved", status_label="Achieved")

    assert snapshot_diff(base(), new) == [
        Change(
            "certifications",
            "changed",
            "soc2-type-1",
            "status",
            "in_progress",
            "achieved",
            "SOC 2 Type I: in progress -> achieved",
        ),
    ]
    assert str(snapshot_diff(base(), new)[0]) == "SOC 2 Type I: in progress -> achieved"


# --- long texts --------------------------------------------------------------


def test_long_text_is_cut_to_the_changed_words_with_context():
    new = base()
    find_control(new, "incident-log")["body"] = LONG_BODY.replace("72", "48")

    assert texts(base(), new) == ["Incident log: …within 72 hours… -> …within 48 hours…"]


def test_long_text_changed_at_the_start_and_at_the_end():
    start, end = base(), base()
    find_control(start, "incident-log")["body"] = "all " + LONG_BODY
    find_control(end, "incident-log")["body"] = LONG_BODY + " today"

    assert texts(base(), start) == ["Incident log: affected… -> all affected…"]
    assert texts(base(), end) == ["Incident log: …policy -> …policy today"]


def test_long_text_whose_spacing_alone_changed():
    new = base()
    find_control(new, "incident-log")["body"] = LONG_BODY.replace(" ", "  ")

    assert texts(base(), new) == ["Incident log: (spacing only) -> (spacing only)"]


def test_text_emptied_or_filled_shows_none():
    new = base()
    new["certifications"][1]["target"] = "2027"
    new["certifications"][0]["target"] = ""

    assert texts(base(), new) == ["SOC 2 Type I target: Q4 2026 -> (none)", "ISO 27001 target: (none) -> 2027"]


# --- controls ---------------------------------------------------------------


def test_control_added_and_removed_name_their_section():
    new = base()
    new["sections"][1]["groups"][1]["items"].append(control("kms", "Key management"))
    new["sections"][1]["groups"][0]["items"].pop(1)  # hsts

    assert texts(base(), new) == [
        "Control added to Data Security: Key management",
        "Control removed from Data Security: HSTS",
    ]


def test_control_renamed_and_status_changed():
    new = base()
    tls = find_control(new, "tls")
    tls.update(title="TLS 1.3", status="planned", status_label="Planned")

    assert texts(base(), new) == ["Control renamed: TLS 1.2+ -> TLS 1.3", "TLS 1.3 status: in place -> planned"]


def test_control_moved_to_another_group_and_another_section():
    new = base()
    aes = new["sections"][1]["groups"][1]["items"].pop()
    new["sections"][2]["groups"][0]["items"].append(aes)
    hsts = new["sections"][1]["groups"][0]["items"].pop()
    new["sections"][1]["groups"][1]["items"].append(hsts)

    assert texts(base(), new) == [
        "HSTS sub-heading: Data in Transit -> Data at Rest",
        "AES-256 moved from Data Security to Incident Response",
        "AES-256 sub-heading: Data at Rest -> (none)",
    ]


def test_controls_reordered_within_a_section():
    new = base()
    group = new["sections"][1]["groups"][0]["items"]
    group.reverse()

    assert snapshot_diff(base(), new) == [
        Change(
            "controls",
            "reordered",
            "data-security",
            "",
            ["tls", "hsts", "aes"],
            ["hsts", "tls", "aes"],
            "Order of controls in Data Security changed",
        ),
    ]


# --- sections and organization ---------------------------------------------------


def test_section_renamed_intro_changed_and_reordered():
    new = base()
    new["sections"][1]["title"] = "Encryption"
    new["sections"][1]["intro"] = "Encryption at every layer."
    new["sections"].insert(0, new["sections"].pop(2))

    assert texts(base(), new) == [
        "Section renamed: Data Security -> Encryption",
        "Encryption introduction: Encryption everywhere. -> Encryption at every layer.",
        "Order of sections changed",
    ]


def test_section_added_and_removed():
    new = base()
    new["sections"].append({"key": "gdpr", "title": "GDPR", "intro": "", "groups": []})
    new["sections"].pop(0)

    assert texts(base(), new) == ["Section added: GDPR", "Section removed: Certification Status"]


def test_organization_fields_and_languages():
    new = base()
    new["organization"]["security_email"] = "psirt@coaxiom.io"
    new["organization"]["preferred_languages"] = ["en", "de"]

    assert texts(base(), new) == [
        "Security email: security@coaxiom.io -> psirt@coaxiom.io",
        "Preferred languages: en -> en, de",
    ]


# --- the other lists ------------------------------------------------------------


def test_subprocessor_removed_renamed_and_fields():
    new = base()
    new["subprocessors"].pop(0)
    new["subprocessors"][0].update(name="Supabase Inc.", purpose="PostgreSQL", location="EU")

    assert texts(base(), new) == [
        "Subprocessor renamed: Supabase -> Supabase Inc.",
        "Supabase Inc. purpose: Database -> PostgreSQL",
        "Supabase Inc. location: United States -> EU",
        "Subprocessor removed: Netlify",
    ]


def test_subprocessor_certifications_told_one_by_one():
    new = base()
    new["subprocessors"][0]["certifications"] = ["ISO 27001"]

    assert texts(base(), new) == [
        "Netlify certification added: ISO 27001",
        "Netlify certification removed: SOC 2 Type II",
    ]


def test_subprocessor_certifications_reordered():
    old, new = base(), base()
    old["subprocessors"][0]["certifications"] = ["A", "B"]
    new["subprocessors"][0]["certifications"] = ["B", "A"]

    assert texts(old, new) == ["Netlify certifications: A, B -> B, A"]


def test_subprocessors_reordered():
    new = base()
    new["subprocessors"].reverse()

    assert texts(base(), new) == ["Order of subprocessors changed"]


def test_data_handling_gdpr_and_contact_routes():
    new = base()
    new["data_handling"][0]["description"] = "Email address, hashed password"
    new["gdpr"][0]["body"] = "Coaxiom Inc."
    new["contact_routes"][0]["email"] = "legal@coaxiom.io"
    new["contact_routes"].append({"slug": "security", "label": "Security", "email": "s@coaxiom.io", "topics": "t"})

    assert texts(base(), new) == [
        "Account data: Email address -> Email address, hashed password",
        "Data Controller: Coaxiom LLC -> Coaxiom Inc.",
        "Privacy & legal email: privacy@coaxiom.io -> legal@coaxiom.io",
        "Contact route added: Security",
    ]


def test_certification_added_removed_and_description():
    new = base()
    new["certifications"][0]["description"] = "Auditor engaged."
    new["certifications"].pop(1)
    new["certifications"].append(
        {
            "slug": "hipaa",
            "name": "HIPAA BAA",
            "status": "available_on_request",
            "status_label": "Available on request",
            "target": "",
            "description": "",
        }
    )

    assert texts(base(), new) == [
        "SOC 2 Type I description: Building controls. -> Auditor engaged.",
        "Certification added: HIPAA BAA",
        "Certification removed: ISO 27001",
    ]


# --- beginnings and schema growth -----------------------------------------------


def test_nothing_published_before_means_everything_is_added():
    changes = snapshot_diff(None, base())

    assert [c.text for c in changes if c.area == "subprocessors"] == [
        "Subprocessor added: Netlify",
        "Subprocessor added: Supabase",
    ]
    assert changes[0].text == "Company name: (none) -> Coaxiom"
    assert {c.action for c in changes} == {"changed", "added"}
    # organization 8 fields, 3 sections, 5 controls, 2 + 2 + 1 + 1 + 1 list items
    assert len(changes) == 8 + 3 + 5 + 2 + 2 + 1 + 1 + 1


def test_areas_added_by_later_schemas_are_still_reported():
    old, new = base(), base()
    old["documents"] = [{"slug": "dpa", "title": "DPA", "access": "gated"}]
    new["documents"] = [
        {"slug": "dpa", "title": "DPA", "access": "public"},
        {"slug": "soc2", "title": "SOC 2 report", "access": "gated"},
    ]
    old["disclosure"] = {"ack_hours": 48, "safe_harbor": True}
    new["disclosure"] = {"ack_hours": 24, "safe_harbor": True}
    new["status_url"] = "status.coaxiom.io"
    new["subprocessors"][0]["region_code"] = "us"

    assert texts(old, new) == [
        "Netlify region code: (none) -> us",
        "Disclosure ack hours: 48 -> 24",
        "DPA access: gated -> public",
        "Documents item added: SOC 2 report",
        "Status url: (none) -> status.coaxiom.io",
    ]


def test_changes_come_in_page_order():
    new = base()
    new["contact_routes"][0]["topics"] = "DPA and BAA requests"
    new["organization"]["website"] = "coaxiom.com"
    new["certifications"][1]["name"] = "ISO/IEC 27001"
    find_control(new, "aes")["body"] = "via the provider"
    new["sections"][2]["title"] = "Incidents"

    assert [c.area for c in snapshot_diff(base(), new)] == [
        "organization",
        "sections",
        "controls",
        "certifications",
        "contact_routes",
    ]


# --- properties over arbitrary edits ----------------------------------------------

TEXT = st.text(alphabet="abc XYZ.-", min_size=0, max_size=100)


@st.composite
def edited(draw: st.DrawFn) -> dict[str, Any]:
    """The base snapshot after a handful of arbitrary edits of any kind."""
    snapshot = base()
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["text", "drop", "add", "swap", "status", "move"]))
        area = draw(st.sampled_from(["subprocessors", "certifications", "data_handling", "contact_routes"]))
        rows = snapshot[area]
        controls = [i for s in snapshot["sections"] for g in s["groups"] for i in g["items"]]
        if kind == "text":
            target = draw(st.sampled_from(controls + rows + [snapshot["organization"]]))
            field = draw(
                st.sampled_from(
                    [k for k, v in target.items() if isinstance(v, str) and k not in ("slug", "status", "status_label")]
                )
            )
            target[field] = draw(TEXT)
        elif kind == "drop" and rows:
            rows.pop(draw(st.integers(0, len(rows) - 1)))
        elif kind == "add":
            template = copy.deepcopy(base()[area][0])
            template["slug"] = draw(st.sampled_from(["new-1", "new-2"]))
            if all(r["slug"] != template["slug"] for r in rows):
                rows.insert(draw(st.integers(0, len(rows))), template)
        elif kind == "swap" and len(rows) > 1:
            rows.reverse()
        elif kind == "status":
            item = draw(st.sampled_from(controls))
            item.update(status="planned", status_label="Planned")
        elif kind == "move":
            groups = [g for s in snapshot["sections"] for g in s["groups"]]
            source = draw(st.sampled_from([g for g in groups if g["items"]]))
            draw(st.sampled_from(groups))["items"].append(source["items"].pop())
    return snapshot


@hsettings(max_examples=150, deadline=None)
@given(old=edited(), new=edited())
def test_diff_is_empty_exactly_when_the_pages_are_the_same(old, new):
    changes = snapshot_diff(old, new)

    assert (changes == []) == (not snapshots_differ(old, new))
    assert all(c.text and "->" not in c.key for c in changes)


@hsettings(max_examples=100, deadline=None)
@given(old=edited(), new=edited())
def test_diff_backwards_swaps_added_and_removed(old, new):
    forwards, backwards = snapshot_diff(old, new), snapshot_diff(new, old)

    assert sorted((c.area, c.key) for c in forwards if c.action == "added") == sorted(
        (c.area, c.key) for c in backwards if c.action == "removed"
    )
    assert len([c for c in forwards if c.action == "changed"]) == len([c for c in backwards if c.action == "changed"])


def test_diff_does_not_change_its_arguments():
    old, new = base(), base()
    new["subprocessors"].reverse()
    before = (copy.deepcopy(old), copy.deepcopy(new))

    snapshot_diff(old, new)

    assert (old, new) == before


@pytest.mark.parametrize(
    "old,new,expected",
    [
        ({"flag": True}, {"flag": False}, ["Flag: yes -> no"]),
        ({"nested": {"a": [1, 2]}}, {"nested": {"a": [1]}}, ["Nested a: 1, 2 -> 1"]),
        ({"score": 1}, {}, ["Score: 1 -> (none)"]),
    ],
)
def test_unknown_scalar_and_dict_areas(old, new, expected):
    assert texts(old, new) == expected


def test_control_characters_in_a_change_are_shown_visibly():
    """A line break hidden in a one-line field must not read as an ordinary value."""
    new = base()
    new["organization"]["name"] = "Acme\r\nContact: mailto:evil@example.org"
    new["subprocessors"][0]["location"] = "United States\x1b[31m"

    assert texts(base(), new) == [
        "Company name: Coaxiom -> Acme␍␊Contact: mailto:evil@example.org",
        "Netlify location: United States -> United States␛[31m",
    ]
