"""One-line fields refuse line breaks and control characters everywhere a
value can come in (model, admin, public forms, services, PostgreSQL), and the
writers of line-based formats cannot be broken by a value stored anyway."""

import xml.etree.ElementTree as ET

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.urls import reverse

from compliance import formats
from compliance.models import Organization, Publication
from core.models import OutboxMail
from core.text import SINGLE_LINE_MESSAGE, validate_single_line
from requests_app.models import Ticket
from tests.factories import publish_draft, save

pytestmark = pytest.mark.django_db

EVIL = "Acme\r\nContact: mailto:attacker@example.org\r\nEncryption: https://evil.example/key"

# Machine-written text columns: hashes, nonces, tokens, internal bookkeeping.
# Header-bound ones among them (OutboxMail.to/subject) are cleaned by their writer.
MACHINE_WRITTEN = {
    "compliance.UpdatePublication.content_sha256",
    "subscriptions.UpdateNotice.category",
    "core.WorkerHeartbeat.worker",
    "compliance.Document.sha256",
    "requests_app.TicketSequence.prefix",
    "requests_app.TicketAttachment.content_type",
    "requests_app.TicketAttachment.sha256",
    "requests_app.VerificationToken.nonce",
    "requests_app.VerificationToken.token_hash",
    "requests_app.OutboxMail.template",
    "requests_app.OutboxMail.to",
    "requests_app.OutboxMail.subject",
    "requests_app.OutboxMail.last_error",
    "subscriptions.Subscriber.confirm_nonce",
    "subscriptions.Subscriber.confirm_token_hash",
    "subscriptions.Subscriber.unsubscribe_nonce",
    "subscriptions.Subscriber.unsubscribe_token_hash",
    "documents.NdaAcceptance.user_agent",
    "documents.DocumentDownload.sha256",
    "documents.DocumentDownload.user_agent",
    "core.OutboxMail.template",
    "core.OutboxMail.to",
    "core.OutboxMail.subject",
    "core.OutboxMail.last_error",
    "core.PeriodicJobSlot.name",
    "core.PublicMailCount.mailbox_hash",
}
APPS = ("compliance", "requests_app", "subscriptions", "documents", "core")


def one_line_fields() -> list[tuple[type[models.Model], models.Field]]:
    found: list[tuple[type[models.Model], models.Field]] = []
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            if model.__name__.startswith("Historical"):
                continue
            for field in model._meta.concrete_fields:
                if isinstance(field, models.CharField) and field.editable and not field.choices:
                    found.append((model, field))
    return found


def name(model: type[models.Model], field: models.Field) -> str:
    return f"{model._meta.label}.{field.name}"


def test_every_one_line_field_people_write_refuses_control_characters():
    unguarded = [
        name(m, f)
        for m, f in one_line_fields()
        if validate_single_line not in f.validators and not isinstance(f, models.SlugField)
        if name(m, f) not in MACHINE_WRITTEN
    ]
    assert unguarded == []


def test_model_validation_names_the_field_and_the_rule(seeded):
    org = Organization.objects.get()
    org.name = EVIL
    with pytest.raises(ValidationError) as raised:
        org.full_clean()
    assert raised.value.message_dict == {"name": [SINGLE_LINE_MESSAGE]}


def test_admin_refuses_a_line_break_in_the_organization_name_and_changes_nothing(seeded, editor_client):
    org = Organization.objects.get()
    before = (org.name, org.history.count())
    data = {f.name: getattr(org, f.attname) for f in org._meta.fields if f.editable and not f.primary_key}
    url = reverse("admin:compliance_organization_change", args=[org.pk])

    response = editor_client.post(url, {**data, "name": EVIL, "change_reason": "rename"})

    assert response.status_code == 200
    assert SINGLE_LINE_MESSAGE in response.content.decode()
    org.refresh_from_db()
    assert (org.name, org.history.count()) == before


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/requests/new/dpa/", "requester_name"),
        ("/requests/new/dpa/", "legal_entity"),
        ("/requests/new/baa/", "legal_entity"),
    ],
)
def test_public_forms_refuse_line_breaks_and_create_nothing(client, url, field):
    from tests.requests_app.helpers import BAA_ANSWERS, DPA_ANSWERS, post_form

    answers = DPA_ANSWERS if "dpa" in url else BAA_ANSWERS
    response = post_form(client, url, {**answers, field: "Dana\r\nBcc: victim@example.org"})

    assert response.status_code == 400
    assert SINGLE_LINE_MESSAGE in response.content.decode()
    assert Ticket.objects.count() == 0
    assert OutboxMail.objects.count() == 0


def test_the_intake_service_refuses_what_a_form_would(seeded):
    from requests_app.services import ticket_submit

    with pytest.raises(ValidationError) as raised:
        ticket_submit(
            kind="dpa",
            data={"requester_name": "Dana\nX", "requester_email": "dana@example.com", "legal_entity": "Example"},
            submission_token="t" * 32,
        )
    assert raised.value.code == "control_characters"
    assert Ticket.objects.count() == 0


def test_security_txt_cannot_gain_fields_from_stored_values():
    snapshot = {
        "organization": {
            "name": EVIL,
            "security_email": "security@example.com\r\nContact: mailto:attacker@example.org",
            "preferred_languages": ["en\r\nHiring: https://evil.example/"],
        },
        "contact_routes": [],
    }
    from datetime import UTC, datetime

    body = formats.security_txt(
        snapshot,
        version=3,
        effective_at=datetime(2026, 6, 1, tzinfo=UTC),
        site_url="https://trust.example.com",
        expires_days=180,
    )

    assert [name for name, _ in formats.parse_security_txt(body)] == [
        "Contact",
        "Expires",
        "Preferred-Languages",
        "Canonical",
        "Policy",
    ]
    assert body.splitlines()[0] == (
        "# Security contact for Acme Contact: mailto:attacker@example.org Encryption: https://evil.example/key,"
        " from published version 3."
    )
    assert body.count("\n") == 6


def test_the_feed_stays_xml_when_a_summary_holds_control_characters(published, editor, approver, client):
    org = Organization.objects.get()
    org.page_title = "Security and Compliance"
    save(org, editor, "title")
    publish_draft(requester=editor, approver=approver, summary="Escape \x1b[31m and \x0b gone")

    response = client.get("/feed.atom")

    assert response.status_code == 200
    root = ET.fromstring(response.content)
    summaries = [el.text for el in root.iter("{http://www.w3.org/2005/Atom}summary")]
    assert (
        summaries[0]
        == "<p>Escape [31m and  gone</p><ul><li>Page title: Security &amp; Compliance -&gt; Security and Compliance</li></ul>"
    )
    assert Publication.objects.count() == 2


def test_mail_headers_are_one_line_whatever_the_subject_held(db):
    from core.outbox import outbox_queue

    mail = outbox_queue(template="ticket_message", to="a@example.com\r\n", subject="Re: Acme\r\nBcc: x@y.z\x1b")

    assert (mail.to, mail.subject) == ("a@example.com", "Re: Acme Bcc: x@y.z")


@pytest.mark.postgres
def test_postgresql_refuses_control_characters_in_every_guarded_live_column(seeded):
    guarded = [(m, f) for m, f in one_line_fields() if validate_single_line in f.validators]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'c' AND conname LIKE %s",
            ["%_one_line"],
        )
        present = {(table, con) for table, con in cursor.fetchall()}
    expected = {(m._meta.db_table, f"{m._meta.db_table}_{f.column}_one_line"[-63:]) for m, f in guarded}
    assert expected - present == set()
    assert len(expected) == 32

    org = Organization.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE compliance_organization SET name = %s WHERE id = %s", ["Acme\nContact: x", org.pk])
    # History tables keep what they hold: the constraint is on the live table only.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE conname LIKE 'compliance_historical%%_one_line'")
        assert cursor.fetchone() == (0,)
