"""security.txt, trust.json (and its schema) and the Atom feed of publications."""

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from html import escape

import pytest
from django.core.checks import run_checks
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.http import http_date
from jsonschema import Draft202012Validator, FormatChecker

from compliance import formats
from compliance.enums import CertificationStatus, ControlStatus, DocumentVisibility, SectionKey, UpdateCategory
from compliance.live import live_state_forget
from compliance.models import ContactRoute, Organization, Publication
from compliance.snapshot import build_snapshot
from core.history import system_actor
from evidence.models import ChainLink
from evidence.selectors import chain_head
from tests.factories import publish_draft, save

SITE = "https://trust.example.com"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
ATOM = "{http://www.w3.org/2005/Atom}"


def move_the_chain_head() -> None:
    """A draft edit: one new link in the evidence chain, nothing new published."""
    route = ContactRoute.objects.first()
    route.label = f"{route.label} (edited)"
    save(route, system_actor())


def publish(snapshot: dict, *, effective_at: datetime, summary: str = "Updated the page.") -> Publication:
    """A publication in effect from `effective_at` (which may lie in the past:
    the approval services only publish "now", and these tests need age)."""
    latest = Publication.objects.order_by("-version").values_list("version", flat=True).first()
    actor = system_actor()
    live_state_forget()  # as the approval service does
    return Publication.objects.create(
        version=(latest or 0) + 1,
        snapshot=snapshot,
        summary=summary,
        requested_by=actor,
        approved_by=actor,
        snapshot_taken_at=min(effective_at, timezone.now()),
        effective_at=effective_at,
    )


def fields_of(body: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for name, value in formats.parse_security_txt(body):
        fields.setdefault(name.lower(), []).append(value)
    return fields


def validator() -> Draft202012Validator:
    return Draft202012Validator(formats.trust_schema(), format_checker=FormatChecker())


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.SECURITY_TXT_EXPIRES_DAYS = 180
    settings.SECURITY_TXT_WARN_DAYS = 30
    settings.SECURITY_TXT_ENCRYPTION_URL = ""


@pytest.fixture
def live(seeded):
    """The seed content, published an hour ago."""
    return publish(build_snapshot(), effective_at=timezone.now() - timedelta(hours=1))


# --- pure functions ---------------------------------------------------------

SNAPSHOT = {
    "organization": {"name": "Acme", "security_email": "sec@acme.test", "preferred_languages": ["en", "de"]},
    "contact_routes": [
        {"slug": "privacy", "email": "privacy@acme.test"},
        {"slug": "security", "email": "psirt@acme.test"},
        {"slug": "security-dup", "email": "sec@acme.test"},
    ],
}
EFFECTIVE = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def test_security_txt_body_lists_fields_in_order():
    body = formats.security_txt(
        SNAPSHOT,
        version=4,
        effective_at=EFFECTIVE,
        site_url=SITE + "/",
        expires_days=180,
    )
    assert body == (
        "# Security contact for Acme, from published version 4.\n"
        "Contact: mailto:sec@acme.test\n"
        "Contact: mailto:psirt@acme.test\n"
        "Expires: 2026-08-28T12:30:15Z\n"
        "Preferred-Languages: en, de\n"
        f"Canonical: {SITE}/.well-known/security.txt\n"
        f"Policy: {SITE}/#vulnerability-disclosure\n"
    )


def test_security_contacts_skip_duplicates_and_other_routes():
    snapshot = {
        "organization": {"security_email": "sec@acme.test"},
        "contact_routes": [{"slug": "security", "email": "sec@acme.test"}, {"slug": "sales", "email": "s@acme.test"}],
    }
    assert formats.security_contacts(snapshot) == ["mailto:sec@acme.test"]


def test_security_txt_encryption_is_a_link_when_set():
    body = formats.security_txt(
        SNAPSHOT,
        version=1,
        effective_at=EFFECTIVE,
        site_url=SITE,
        expires_days=90,
        encryption_url="https://acme.test/pgp-key.txt",
    )
    assert fields_of(body)["encryption"] == ["https://acme.test/pgp-key.txt"]
    assert fields_of(body)["expires"] == ["2026-05-30T12:30:15Z"]


def test_security_txt_without_contact_is_refused():
    snapshot = {"organization": {"security_email": ""}, "contact_routes": []}
    with pytest.raises(ValueError, match="no security contact"):
        formats.security_txt(snapshot, version=1, effective_at=EFFECTIVE, site_url=SITE, expires_days=180)


@pytest.mark.parametrize("days", [0, 365, 400])
def test_expires_days_outside_a_year_are_refused(days):
    with pytest.raises(ValueError):
        formats.security_txt_expires(EFFECTIVE, days)


def test_rfc3339_is_utc_whole_seconds():
    moment = datetime(2026, 3, 1, 14, 30, 15, 999, tzinfo=dt_timezone(timedelta(hours=2)))
    assert formats.rfc3339(moment) == "2026-03-01T12:30:15Z"


def test_feed_entry_escapes_editor_text():
    html = formats.feed_entry_html("Fixed <b>typo</b> & more", ["Subprocessor added: A&B <Inc>"])
    assert html == (
        "<p>Fixed &lt;b&gt;typo&lt;/b&gt; &amp; more</p><ul><li>Subprocessor added: A&amp;B &lt;Inc&gt;</li></ul>"
    )
    assert formats.feed_entry_html(" ", []) == "<p>No visible changes.</p>"


def test_trust_document_wraps_the_snapshot_unchanged():
    document = formats.trust_document(
        SNAPSHOT,
        version=3,
        effective_at=EFFECTIVE,
        summary="s",
        chain_head=None,
        schema_url=f"{SITE}/trust.schema.json",
    )
    assert document == {
        "$schema": f"{SITE}/trust.schema.json",
        "version": 3,
        "effective_at": "2026-03-01T12:30:15Z",
        "summary": "s",
        "chain_head": None,
        "snapshot": SNAPSHOT,
    }


# --- the schema ---------------------------------------------------------------


def test_schema_is_valid_draft_2020_12():
    schema = formats.trust_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_schema_enums_follow_the_code():
    snapshot = formats.trust_schema()["$defs"]["snapshot"]["properties"]
    assert snapshot["sections"]["items"]["properties"]["key"]["enum"] == SectionKey.values
    assert snapshot["certifications"]["items"]["properties"]["status"]["enum"] == CertificationStatus.values
    control = snapshot["sections"]["items"]["properties"]["groups"]["items"]["properties"]["items"]["items"]
    assert control["properties"]["status"]["enum"] == ControlStatus.values
    assert snapshot["documents"]["items"]["properties"]["visibility"]["enum"] == DocumentVisibility.values
    update = formats.trust_schema()["properties"]["updates"]["items"]["properties"]
    assert update["category"]["enum"] == UpdateCategory.values


def _undescribed(node: object, path: str = "") -> list[str]:
    """Object properties without a description (their own or via $ref)."""
    missing: list[str] = []
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            if "description" not in sub and "$ref" not in sub:
                missing.append(f"{path}/{name}")
        for key, sub in node.items():
            missing += _undescribed(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            missing += _undescribed(sub, f"{path}/{i}")
    return missing


def test_every_key_is_described_and_no_other_allowed(seeded):
    schema = formats.trust_schema()
    assert _undescribed(schema) == []
    snapshot_schema = schema["$defs"]["snapshot"]
    assert set(snapshot_schema["properties"]) == set(build_snapshot()) == set(snapshot_schema["required"])
    assert snapshot_schema["additionalProperties"] is False
    # An undocumented key is refused, so the schema cannot silently fall behind.
    document = formats.trust_document(
        {**build_snapshot(), "extra": 1},
        version=1,
        effective_at=EFFECTIVE,
        summary="",
        chain_head=None,
        schema_url=f"{SITE}/trust.schema.json",
    )
    errors = [e.message for e in validator().iter_errors(document)]
    assert errors == ["Additional properties are not allowed ('extra' was unexpected)"]


# --- security.txt over HTTP -------------------------------------------------


@pytest.mark.django_db
def test_nothing_published_yet_answers_404(client, seeded):
    response = client.get("/.well-known/security.txt")
    assert (response.status_code, response["Content-Type"]) == (404, "text/plain; charset=utf-8")
    assert response.content == b"Nothing has been published yet.\n"
    assert response["Cache-Control"] == "no-cache"
    response = client.get("/trust.json")
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json() == {"error": "not_published", "detail": "Nothing has been published yet."}
    assert response["Access-Control-Allow-Origin"] == "*"


def test_security_txt_follows_rfc_9116(client, live):
    now = timezone.now()
    response = client.get("/.well-known/security.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    fields = fields_of(response.content.decode("utf-8"))
    assert fields["contact"] == ["mailto:security@coaxiom.io"]
    assert len(fields["expires"]) == 1
    expires_text = fields["expires"][0]
    assert RFC3339.match(expires_text)
    expires = datetime.fromisoformat(expires_text)
    assert now < expires < now + timedelta(days=365)
    assert expires == (live.effective_at + timedelta(days=180)).replace(microsecond=0)
    assert fields["canonical"] == [f"{SITE}/.well-known/security.txt"]
    assert fields["policy"] == [f"{SITE}/#vulnerability-disclosure"]
    assert fields["preferred-languages"] == ["en"]
    assert "encryption" not in fields
    for uri in fields["contact"] + fields["canonical"] + fields["policy"]:
        assert re.match(r"^(mailto:[^@\s]+@[^@\s]+|https?://[^\s]+)$", uri), uri


def test_security_txt_serves_the_published_contact_not_the_draft(client, live):
    org = Organization.objects.get()
    org.security_email = "draft@coaxiom.io"
    save(org, system_actor())
    route = ContactRoute.objects.get(slug="security")
    route.email = "psirt@coaxiom.io"
    save(route, system_actor())
    body = client.get("/.well-known/security.txt").content.decode()
    assert fields_of(body)["contact"] == ["mailto:security@coaxiom.io"]
    publish(build_snapshot(), effective_at=timezone.now())
    body = client.get("/.well-known/security.txt").content.decode()
    assert fields_of(body)["contact"] == ["mailto:draft@coaxiom.io", "mailto:psirt@coaxiom.io"]


def test_security_txt_encryption_setting(client, live, settings):
    settings.SECURITY_TXT_ENCRYPTION_URL = "https://coaxiom.io/pgp.asc"
    body = client.get("/.well-known/security.txt").content.decode()
    assert fields_of(body)["encryption"] == ["https://coaxiom.io/pgp.asc"]


def test_expires_moves_forward_with_each_publication(client, seeded):
    publish(build_snapshot(), effective_at=timezone.now() - timedelta(days=100))
    first = datetime.fromisoformat(fields_of(client.get("/.well-known/security.txt").content.decode())["expires"][0])
    newer = publish(build_snapshot(), effective_at=timezone.now())
    second = datetime.fromisoformat(fields_of(client.get("/.well-known/security.txt").content.decode())["expires"][0])
    # Both moments were "now" a few milliseconds apart; Expires is in whole seconds.
    assert timedelta(days=100, seconds=-1) <= second - first <= timedelta(days=100, seconds=1)
    assert second == (newer.effective_at + timedelta(days=180)).replace(microsecond=0)


def test_approved_publication_renews_expires_and_clears_the_warning(client, clock, published, editor, approver):
    def expires() -> str:
        return fields_of(client.get("/.well-known/security.txt").content.decode())["expires"][0]

    assert expires() == "2026-11-28T09:00:00Z"  # published 1 June 2026 09:00 + 180 days
    clock.advance(days=160)
    assert _w001() == ["security.txt expires on 2026-11-28T09:00:00+00:00, in 20 days."]
    org = Organization.objects.get()
    org.intro = "Updated introduction."
    save(org, editor)
    publish_draft(requester=editor, approver=approver, summary="New introduction")
    assert expires() == "2027-05-07T09:00:00Z"
    assert _w001() == []


def test_scheduled_publication_is_not_served_before_its_moment(client, live):
    publish(
        {**live.snapshot, "organization": {**live.snapshot["organization"], "security_email": "later@coaxiom.io"}},
        effective_at=timezone.now() + timedelta(days=2),
    )
    body = client.get("/.well-known/security.txt").content.decode()
    assert fields_of(body)["contact"] == ["mailto:security@coaxiom.io"]
    assert "version 1." in body
    assert client.get("/trust.json").json()["version"] == 1


def test_security_txt_etag_and_304(client, live):
    response = client.get("/.well-known/security.txt")
    etag = response["ETag"]
    assert etag.startswith('"security-v1-')
    assert response["Cache-Control"] == "public, max-age=60"
    assert response["Last-Modified"] == http_date(live.effective_at.timestamp())
    again = client.get("/.well-known/security.txt", HTTP_IF_NONE_MATCH=etag)
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)
    publish(build_snapshot(), effective_at=timezone.now())
    fresh = client.get("/.well-known/security.txt", HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200
    assert fresh["ETag"].startswith('"security-v2-')


def test_head_requests_get_headers_only(client, live):
    for url in ("/.well-known/security.txt", "/trust.json", "/feed.atom"):
        get, head = client.get(url), client.head(url)
        assert (head.status_code, head.content, head["ETag"]) == (200, b"", get["ETag"])


def test_security_txt_without_published_contact_is_404(client, seeded):
    snapshot = build_snapshot()
    snapshot["organization"]["security_email"] = ""
    snapshot["contact_routes"] = [r for r in snapshot["contact_routes"] if r["slug"] != "security"]
    publish(snapshot, effective_at=timezone.now())
    response = client.get("/.well-known/security.txt")
    assert (response.status_code, response.content) == (404, b"The published page names no security contact.\n")


def test_old_security_txt_path_redirects(client, db):
    response = client.get("/security.txt")
    assert (response.status_code, response["Location"]) == (301, "/.well-known/security.txt")


def test_security_txt_refuses_writes(client, live):
    assert client.post("/.well-known/security.txt").status_code == 405


# --- the expiry warning -----------------------------------------------------


def _w001() -> list[str]:
    return [m.msg for m in run_checks() if m.id == "compliance.W001"]


def test_check_warns_within_30_days_of_expiry(seeded):
    assert _w001() == []  # nothing published: nothing to lapse
    old = publish(build_snapshot(), effective_at=timezone.now() - timedelta(days=160))
    expires = (old.effective_at + timedelta(days=180)).replace(microsecond=0)
    assert _w001() == [f"security.txt expires on {expires.isoformat()}, in 19 days."]
    publish(build_snapshot(), effective_at=timezone.now())
    assert _w001() == []


def test_check_says_when_it_has_expired(seeded):
    old = publish(build_snapshot(), effective_at=timezone.now() - timedelta(days=200))
    expires = (old.effective_at + timedelta(days=180)).replace(microsecond=0)
    assert _w001() == [f"security.txt expired on {expires.isoformat()}."]


def test_check_quiet_with_a_fresh_publication(live):
    assert _w001() == []


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("SECURITY_TXT_EXPIRES_DAYS", 365, "compliance.E001"),
        ("SECURITY_TXT_EXPIRES_DAYS", 0, "compliance.E001"),
        ("SECURITY_TXT_ENCRYPTION_URL", "http://example.com/key", "compliance.E002"),
        ("SECURITY_TXT_ENCRYPTION_URL", "-----BEGIN PGP PUBLIC KEY BLOCK-----", "compliance.E002"),
    ],
)
def test_settings_checks(settings, db, name, value, code):
    setattr(settings, name, value)
    assert [m.id for m in run_checks() if m.id.startswith("compliance.E")] == [code]


def test_settings_checks_pass_with_valid_values(settings, db):
    settings.SECURITY_TXT_ENCRYPTION_URL = "https://example.com/key.asc"
    assert [m.id for m in run_checks() if m.id.startswith("compliance.")] == []


def test_deploy_check_wants_https_site_url(settings, db):
    assert [m.id for m in run_checks(include_deployment_checks=True) if m.id == "compliance.W002"] == []
    settings.SITE_URL = "http://trust.example.com"
    assert [m.id for m in run_checks(include_deployment_checks=True) if m.id == "compliance.W002"] == [
        "compliance.W002"
    ]
    assert [m.id for m in run_checks() if m.id == "compliance.W002"] == []


def test_admin_index_shows_banner_to_staff(client, seeded, make_staff):
    publish(build_snapshot(), effective_at=timezone.now() - timedelta(days=170))
    client.force_login(make_staff("stan"))
    html = client.get("/admin/").content.decode()
    assert "messagelist security-txt-warning" in html
    assert "security.txt expires soon." in html
    assert "(9 days from now)" in html


def test_admin_index_has_no_banner_when_fresh(client, live, make_staff):
    client.force_login(make_staff("stan"))
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "security-txt-warning" not in response.content.decode()


def test_admin_banner_not_shown_to_the_public(client, seeded, django_user_model):
    publish(build_snapshot(), effective_at=timezone.now() - timedelta(days=200))
    response = client.get("/admin/")
    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/")
    client.force_login(django_user_model.objects.create_user("visitor", password="x" * 12))
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "security-txt-warning" not in client.get("/").content.decode()


# --- trust.json -------------------------------------------------------------


def test_trust_json_validates_with_seed_content(client, live):
    response = client.get("/trust.json")
    assert (response.status_code, response["Content-Type"]) == (200, "application/json")
    document = response.json()
    assert list(validator().iter_errors(document)) == []
    assert document["version"] == 1
    assert document["effective_at"] == formats.rfc3339(live.effective_at)
    assert document["chain_head"] == chain_head().as_json()
    assert document["summary"] == "Updated the page."
    assert document["snapshot"] == live.snapshot
    assert document["$schema"] == f"{SITE}/trust.schema.json"
    assert response["Link"] == f'<{SITE}/trust.schema.json>; rel="describedby"'


def test_trust_json_validates_with_empty_lists(client, db):
    save(
        Organization(
            name="Solo",
            legal_name="Solo Ltd",
            intro="Hi.",
            contact_email="a@solo.test",
            security_email="s@solo.test",
            preferred_languages="fr",
        ),
        system_actor(),
    )
    publish(build_snapshot(), effective_at=timezone.now())
    document = client.get("/trust.json").json()
    assert list(validator().iter_errors(document)) == []
    snapshot = document["snapshot"]
    assert [
        snapshot[k] for k in ("sections", "certifications", "subprocessors", "data_handling", "gdpr", "contact_routes")
    ] == [[]] * 6
    assert snapshot["organization"]["preferred_languages"] == ["fr"]


def test_trust_json_carries_the_head_sealed_into_its_version(client, live, memo_clock):
    link = ChainLink.objects.get(model_label="compliance.publication", row_pk=live.pk)
    document = client.get("/trust.json").json()
    assert document["chain_head"] == {"sequence": link.seq, "hash": link.link_hash}
    assert list(validator().iter_errors(document)) == []
    # A draft edit moves the live head (at /evidence/head), not the version's.
    move_the_chain_head()
    memo_clock.advance(1)
    assert chain_head().seq == link.seq + 1
    document = client.get("/trust.json").json()
    assert document["chain_head"] == {"sequence": link.seq, "hash": link.link_hash}
    assert list(validator().iter_errors(document)) == []


def test_trust_json_lists_the_evidence_signing_keys_with_their_periods(client, live, settings, memo_clock):
    from datetime import UTC, datetime

    from evidence.checkpoints import checkpoint_sign
    from tests.conftest import NEXT_SIGNING_KEY, NEXT_VERIFIER_KEY, TEST_VERIFIER_KEY

    document = client.get("/trust.json").json()
    assert document["evidence_log"] == {
        "checkpoint_url": f"{SITE}/evidence/checkpoint",
        "head_url": f"{SITE}/evidence/head",
        "checkpoint": None,
        "signing_keys": [],
    }
    checkpoint_sign(reason="manual", now=datetime(2026, 6, 1, 12, tzinfo=UTC))
    settings.EVIDENCE_SIGNING_KEY = NEXT_SIGNING_KEY
    newest = checkpoint_sign(reason="manual", now=datetime(2026, 7, 1, 12, tzinfo=UTC))
    memo_clock.advance(1)  # every server reads the new checkpoint within a second
    # Only keys the configuration trusts are published: the past key once it is named.
    document = client.get("/trust.json").json()
    assert [key["verifier_key"] for key in document["evidence_log"]["signing_keys"]] == [NEXT_VERIFIER_KEY]
    settings.EVIDENCE_TRUSTED_KEYS = [TEST_VERIFIER_KEY]  # a new configuration is a new body
    document = client.get("/trust.json").json()
    assert document["evidence_log"]["checkpoint"] == {
        "tree_size": newest.tree_size,
        "root_hash": newest.root_hash,
        "signed_at": "2026-07-01T12:00:00.000000Z",
        "note": newest.note,
    }
    assert [
        (key["verifier_key"], key["valid_from"], key["valid_until"]) for key in document["evidence_log"]["signing_keys"]
    ] == [
        (TEST_VERIFIER_KEY, "2026-06-01T12:00:00.000000Z", "2026-07-01T12:00:00.000000Z"),
        (NEXT_VERIFIER_KEY, "2026-07-01T12:00:00.000000Z", None),
    ]
    assert list(validator().iter_errors(document)) == []


def test_trust_json_is_readable_cross_origin(client, live):
    response = client.get("/trust.json", HTTP_ORIGIN="https://elsewhere.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Access-Control-Expose-Headers"] == "ETag"
    assert "Access-Control-Allow-Credentials" not in response
    preflight = client.options(
        "/trust.json", HTTP_ORIGIN="https://elsewhere.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert preflight["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert client.post("/trust.json").status_code == 405
    assert client.put("/trust.json").status_code == 405


def test_trust_json_304_on_if_none_match(client, live, settings, memo_clock):
    first = client.get("/trust.json")
    etag = first["ETag"]
    assert etag.startswith('"trust-v1-')
    again = client.get("/trust.json", HTTP_IF_NONE_MATCH=etag)
    assert (again.status_code, again.content) == (304, b"")
    assert again["Access-Control-Allow-Origin"] == "*"
    # A draft edit changes nothing; a newly signed checkpoint (the live signed
    # head it carries) is a new body, so a new ETag without a new version.
    move_the_chain_head()
    memo_clock.advance(1)
    assert client.get("/trust.json", HTTP_IF_NONE_MATCH=etag).status_code == 304
    from evidence.checkpoints import checkpoint_sign

    checkpoint_sign(reason="manual")
    memo_clock.advance(1)
    moved = client.get("/trust.json", HTTP_IF_NONE_MATCH=etag)
    assert moved.status_code == 200
    assert moved["ETag"] != etag
    assert moved["ETag"].startswith('"trust-v1-')


def test_well_known_trust_json_is_the_same(client, live):
    assert client.get("/.well-known/trust.json").content == client.get("/trust.json").content


def test_schema_is_served(client, db):
    response = client.get("/trust.schema.json")
    assert (response.status_code, response["Content-Type"]) == (200, "application/schema+json")
    assert response["Access-Control-Allow-Origin"] == "*"
    served = json.loads(response.content)
    assert served == {"$id": f"{SITE}/trust.schema.json", **formats.trust_schema()}
    assert client.get("/trust.schema.json", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


# --- the Atom feed -------------------------------------------------------------


def _feed(client) -> ET.Element:
    response = client.get("/feed.atom")
    assert (response.status_code, response["Content-Type"]) == (200, "application/atom+xml; charset=utf-8")
    return ET.fromstring(response.content)


def test_feed_lists_publications_in_effect(client, live):
    snapshot = build_snapshot()
    snapshot["organization"] = {**snapshot["organization"], "security_email": "psirt@coaxiom.io"}
    second = publish(snapshot, effective_at=timezone.now() - timedelta(minutes=5), summary="New security <address>.")
    publish(snapshot, effective_at=timezone.now() + timedelta(days=1), summary="Not yet.")
    root = _feed(client)
    assert root.tag == f"{ATOM}feed"
    assert root.find(f"{ATOM}title").text == "Coaxiom: Security & Compliance changes"
    assert root.find(f"{ATOM}author/{ATOM}name").text == "Coaxiom"
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == ["Version 2", "Version 1"]
    ids = [e.find(f"{ATOM}id").text for e in entries]
    assert ids == [f"{SITE}/changelog/#v2", f"{SITE}/changelog/#v1"]
    assert len(set(ids)) == len(ids)
    assert [e.find(f"{ATOM}link").get("href") for e in entries] == ids
    for entry in entries:
        assert RFC3339.match(entry.findtext(f"{ATOM}updated", ""))
    assert datetime.fromisoformat(entries[0].findtext(f"{ATOM}updated", "")) == second.effective_at
    summary = entries[0].find(f"{ATOM}summary")
    assert summary.get("type") == "html"
    assert summary.text == (
        "<p>New security &lt;address&gt;.</p>"
        "<ul><li>Security email: security@coaxiom.io -&gt; psirt@coaxiom.io</li></ul>"
    )
    assert entries[1].find(f"{ATOM}summary").text == (
        "<p>Updated the page.</p><ul><li>First publication of the page.</li></ul>"
    )
    assert RFC3339.match(root.findtext(f"{ATOM}updated", ""))


def test_feed_before_any_publication_is_empty(client, seeded):
    root = _feed(client)
    assert root.tag == f"{ATOM}feed"
    assert root.findall(f"{ATOM}entry") == []
    assert root.find(f"{ATOM}title").text == "Trust center: Security & Compliance changes"


def test_feed_304(client, live):
    etag = client.get("/feed.atom")["ETag"]
    assert client.get("/feed.atom", HTTP_IF_NONE_MATCH=etag).status_code == 304


# --- the page links the formats --------------------------------------------------


def test_page_links_the_formats(client, live):
    html = client.get("/").content.decode()
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Changes to this page (Atom)" href="/feed.atom">'
        in html
    )
    for href in ('href="/trust.json"', 'href="/trust.schema.json"', 'href="/.well-known/security.txt"'):
        assert href in html


# --- query counts -------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/.well-known/security.txt", "/trust.json", "/feed.atom"])
def test_query_count_does_not_grow_with_publications(client, seeded, url):
    counts = []
    for n in (1, 3):
        while Publication.objects.count() < n:
            publish(build_snapshot(), effective_at=timezone.now() - timedelta(minutes=10 - n))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    # Each the live version (the memo, forgotten by each publication) and its row;
    # trust.json also the signing keys (and the newest checkpoint, when there is
    # one); the feed the versions, their snapshots for the changes not cached
    # yet, the checkpoints holding them and the organization: still flat.
    assert counts == {"/trust.json": [3, 3], "/feed.atom": [5, 5]}.get(url, [2, 2])


def test_each_feed_entry_quotes_the_checkpoint_that_holds_its_version(client, live):
    from evidence.checkpoints import checkpoint_sign

    checkpoint = checkpoint_sign(reason="publication")
    snapshot = build_snapshot()
    publish(snapshot, effective_at=timezone.now() - timedelta(minutes=5), summary="Unsigned yet.")

    entries = _feed(client).findall(f"{ATOM}entry")

    # Version 2 is not in a checkpoint yet; version 1 is, and its entry carries the signed note.
    assert "Signed checkpoint" not in (entries[0].findtext(f"{ATOM}summary") or "")
    assert (
        entries[1]
        .find(f"{ATOM}summary")
        .text.endswith(
            f"<p>Signed checkpoint of the evidence log holding this version:</p><pre>{escape(checkpoint.note)}</pre>"
        )
    )
