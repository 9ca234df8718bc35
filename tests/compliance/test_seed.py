import io

from django.contrib.auth import get_user_model
from django.core.management import call_command

from compliance.models import CONTENT_MODELS

# Every fact of the reference page, as it must read on the rendered page.
REFERENCE_FACTS = [
    "Security &amp; Compliance",
    "Coaxiom is built for developers and enterprises who need reliable, auditable inference price intelligence.",
    "Certification Status",
    "We publish our status transparently — we do not claim certifications we have not yet completed.",
    "SOC 2 Type I",
    "Q4 2026",
    "An auditor has not yet been engaged.",
    "This page will be updated when the audit process commences.",
    "SOC 2 Type II",
    "Covers the full 6-month observation period per AICPA standards.",
    "ISO 27001",
    "Target: 2027, following SOC 2 Type II completion.",
    "ISMS framework will be scoped alongside SOC 2 controls.",
    "Data Processing Agreement (DPA) available on request.",
    "Data processed on EU-eligible infrastructure with Standard Contractual Clauses.",
    "Business Associate Agreement (BAA) available for healthcare customers.",
    "Coaxiom does not store, transmit, or process payment card data.",
    "All billing is handled by Stripe (PCI DSS Level 1 certified).",
    "Encryption in transit and at rest is enforced across all Coaxiom systems and third-party infrastructure.",
    "Data in Transit",
    "TLS 1.2+ enforced on all connections</strong> — older protocols rejected",
    "HTTPS-only</strong> — HTTP connections automatically redirected",
    "Cloudflare edge encryption between clients and origin",
    "Modern cipher suites only</strong> — no RC4, DES, or export ciphers",
    "HSTS headers enforced with long max-age",
    "Data at Rest",
    "AES-256 encryption via Supabase (PostgreSQL on AWS)",
    "Database backups encrypted using the same key management",
    "Encryption keys managed by Supabase</strong> — not accessible to Coaxiom application code",
    "Storage volumes encrypted at the infrastructure layer",
    "No unencrypted data stores in use",
    "We do not operate physical hardware.",
    "Netlify",
    "Serverless functions, CDN, static hosting",
    "Supabase",
    "PostgreSQL database, authentication, row-level security",
    "Cloudflare",
    "DNS, CDN, DDoS protection, WAF, edge encryption",
    "Stripe",
    "Payment processing and subscription billing",
    "Google Workspace",
    "internal collaboration",
    "Principle of least privilege is enforced at every layer — from the database to the API to internal tooling.",
    "Row-Level Security (RLS) enforced at the Supabase/PostgreSQL layer — not just application code.",
    "Keys are revocable instantly from the dashboard without affecting other users or services.",
    "never in browser-executed JavaScript.",
    "including Supabase, Netlify, Cloudflare, and Google Workspace.",
    "Zero standing access</strong>",
    "eliminating persistent privileged access to production systems.",
    "users receive email alerts for API key creation, revocation, and new device sign-ins.",
    "24-hour SLA from detection to initial response",
    "runs every 15 minutes across API access patterns and authentication events",
    "affected users notified within 72 hours of confirmed incident, per GDPR Article 33",
    "coaxiom.io/status (coming soon)",
    "with a detailed description and reproduction steps",
    "available upon request for encrypted communications",
    "we commit to acknowledge all valid reports within 48 hours",
    "critical vulnerabilities remediated within 7 days of confirmation",
    "no formal bounty program at this stage. We offer acknowledgment and CVE credit for responsible disclosures",
    "good-faith security research conducted under this policy will not result in legal action",
    "What We Collect / Don't Collect",
    "Email address, hashed password (via Supabase Auth), account creation timestamp",
    "API key identifier (not the key itself)",
    "Stripe customer ID, subscription tier, invoice history — we never see or store card numbers",
    "Prompt/message content",
    "Training data",
    "Raw usage logs retained for 90 days, then aggregated and anonymized.",
    "Deleted within 30 days of an account deletion request.",
    "If you are an EU/EEA data subject or customer, the following applies.",
    "Coaxiom LLC. Contact: privacy@coaxiom.io",
    "Contract performance (Art. 6(1)(b)) for core service delivery; legitimate interest (Art. 6(1)(f)) for security monitoring and fraud prevention",
    "DPA available at coaxiom.io/dpa.",
    "Returned within 5 business days.",
    "You have the right to access, rectify, erase, and port your personal data.",
    "we respond within 30 days.",
    "Standard Contractual Clauses (SCCs) applied where personal data is transferred from the EU/EEA to the United States",
    "EU region available for enterprise customers — contact us to configure.",
    "Supervisory authority notified as required.",
    "Route your inquiry to the right team for fastest response.",
    "DPA requests, GDPR inquiries, HIPAA BAA, data deletion requests",
    "Last updated:",
    "Coaxiom LLC",
]

SECTION_HEADINGS = [
    "Certification Status",
    "Data Security",
    "Infrastructure",
    "Access Controls",
    "Incident Response",
    "Vulnerability Disclosure",
    "Data Handling",
    "GDPR",
    "Contact",
]


def test_seed_command_renders_every_fact_of_the_reference_page(db, client):
    call_command("load_seed_content", stdout=io.StringIO())

    html = client.get("/").content.decode()

    missing = [fact for fact in REFERENCE_FACTS if fact not in html]
    assert missing == []
    for key, heading in zip(
        [
            "certifications",
            "data-security",
            "infrastructure",
            "access-controls",
            "incident-response",
            "vulnerability-disclosure",
            "data-handling",
            "gdpr",
            "contact",
        ],
        SECTION_HEADINGS,
        strict=True,
    ):
        assert f'<h2 id="{key}-title">{heading}</h2>' in html


def test_seed_writes_history_as_the_system_actor_with_the_import_reason(db):
    call_command("load_seed_content", stdout=io.StringIO())

    rows = [row for model in CONTENT_MODELS for row in model.history.all()]
    assert len(rows) == 65
    assert {row.history_type for row in rows} == {"+"}
    assert {row.history_change_reason for row in rows} == {"initial content import"}
    assert {row.history_user.username for row in rows} == {"system"}
    system = get_user_model().objects.get(username="system")
    assert system.is_active is False
    assert system.has_usable_password() is False


def test_second_seed_run_changes_nothing(db, capsys):
    call_command("load_seed_content")
    before = {model.__name__: (list(model.objects.values()), model.history.count()) for model in CONTENT_MODELS}

    call_command("load_seed_content")

    after = {model.__name__: (list(model.objects.values()), model.history.count()) for model in CONTENT_MODELS}
    assert after == before
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Seed content: 65 rows created (organization 1, sections 10, controls 27")
    assert out[1] == "Seed content: 0 rows created, nothing to do"


def test_seed_leaves_staff_edits_alone(db, editor):
    from compliance.models import Certification
    from tests.factories import save

    call_command("load_seed_content", stdout=io.StringIO())
    cert = Certification.objects.get(slug="soc2-type-1")
    cert.status = "achieved"
    save(cert, editor, "audit report received")

    call_command("load_seed_content", stdout=io.StringIO())

    assert Certification.objects.get(slug="soc2-type-1").status == "achieved"
