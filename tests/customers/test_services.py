"""Customers, contacts, DPA fulfilment, subprocessor notices and incidents,
through the services, with the refusal paths."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from core.events import recorded
from core.models import OutboxMail
from core.outbox import outbox_send_due
from customers import services
from customers.events import IncidentNotified, IncidentRecorded, incident_notified, incident_recorded
from customers.models import (
    Contact,
    Customer,
    CustomerAgreement,
    Incident,
    IncidentCustomer,
    IncidentMessage,
    IncidentNotice,
)
from customers.retention import contacts_purge
from customers.selectors import clocks_for
from evidence.models import ChainLink
from evidence.verify import verify_chain
from requests_app.enums import TicketKind, TicketStatus
from requests_app.services import ticket_submit, ticket_transition
from subscriptions import services as subscription_services
from subscriptions.models import ContactNotice, SubprocessorObjection
from tests.factories import SubprocessorFactory, publish_draft, publish_update, write_update
from tests.pdfs import pdf as pdf_bytes

from .conftest import add_contact, customer_with_contacts, mailed_contact_token

UTC = dt.UTC


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Customer, Contact, CustomerAgreement, Incident, IncidentCustomer, IncidentMessage, IncidentNotice)
    } | {"mails": OutboxMail.objects.count()}


# ---------------------------------------------------------------- contacts


def test_a_contact_confirms_through_a_single_use_link_stored_only_hashed(clock, handler):
    customer = services.customer_create(name="Acme GmbH", actor=handler, reason="signed DPA")
    contact = add_contact(customer, handler, "Sec@Acme.example", confirm=False, security=True)
    assert (contact.email, contact.confirmed_at, contact.roles) == ("sec@acme.example", None, ["security"])
    token = mailed_contact_token("sec@acme.example")
    assert contact.confirm_token_hash is not None and len(contact.confirm_token_hash) == 64
    assert token != contact.confirm_token_hash
    assert token not in OutboxMail.objects.get(to="sec@acme.example").body_text

    clock.advance(hours=1)
    confirmed = services.contact_confirm(raw_token=token)
    assert confirmed.confirmed_at == clock.now
    assert (confirmed.confirm_nonce, confirmed.confirm_token_hash) == ("", None)
    with pytest.raises(ValidationError) as again:
        services.contact_confirm(raw_token=token)
    assert again.value.code == "link_invalid"
    assert [h.history_change_reason for h in confirmed.history.order_by("history_id")] == [
        "contact added: named in the agreement",
        "address confirmed by the contact",
    ]


def test_the_confirmation_page_shows_a_button_and_the_post_confirms(client, clock, handler):
    customer = services.customer_create(name="Acme GmbH", actor=handler, reason="signed DPA")
    add_contact(customer, handler, "sec@acme.example", confirm=False, security=True)
    token = mailed_contact_token("sec@acme.example")
    page = client.get(f"/customers/confirm/{token}/")
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert Contact.objects.get().confirmed_at is None  # a GET (a mail scanner) confirms nothing
    assert client.post(f"/customers/confirm/{token}/").status_code == 200
    assert Contact.objects.get().confirmed_at == clock.now
    assert client.post(f"/customers/confirm/{token}/").status_code == 404
    assert client.get("/customers/confirm/not-a-token/").status_code == 404


def test_a_link_expires_after_seven_days_and_a_removed_contact_cannot_confirm(clock, handler):
    customer = services.customer_create(name="Acme GmbH", actor=handler, reason="signed DPA")
    add_contact(customer, handler, "late@acme.example", confirm=False, security=True)
    late = mailed_contact_token("late@acme.example")
    removed = add_contact(customer, handler, "gone@acme.example", confirm=False, privacy=True)
    gone = mailed_contact_token("gone@acme.example")
    services.contact_remove(contact_id=removed.pk, actor=handler, reason="left the company")
    with pytest.raises(ValidationError):
        services.contact_confirm(raw_token=gone)
    clock.advance(days=7)
    with pytest.raises(ValidationError):
        services.contact_confirm(raw_token=late)
    assert not Contact.objects.filter(confirmed_at__isnull=False).exists()


def test_a_new_address_must_be_confirmed_again(clock, handler):
    customer = services.customer_create(name="Acme GmbH", actor=handler, reason="signed DPA")
    contact = add_contact(customer, handler, "sec@acme.example", security=True)
    updated = services.contact_update(
        contact_id=contact.pk,
        name="Sam Sec",
        email="sam@acme.example",
        roles={"security": True, "privacy": True},
        actor=handler,
        reason="new address",
    )
    assert (updated.email, updated.confirmed_at, updated.roles) == ("sam@acme.example", None, ["security", "privacy"])
    services.contact_confirm(raw_token=mailed_contact_token("sam@acme.example"))
    assert Contact.objects.get().is_active


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"roles": {}}, "role_required"),
        ({"roles": {"owner": True}}, "role_unknown"),
        ({"email": "not an address"}, "email_invalid"),
        ({"name": "   "}, "name_required"),
        ({"name": "Ann\nBcc: x@evil.example"}, None),  # one line: the break becomes a space
        ({"reason": ""}, "reason_required"),
        ({"email": "sec@acme.example"}, "contact_exists"),
    ],
)
def test_bad_contact_input_is_refused_and_changes_nothing(clock, handler, kwargs, code):
    customer = services.customer_create(name="Acme GmbH", actor=handler, reason="signed DPA")
    add_contact(customer, handler, "sec@acme.example", confirm=False, security=True)
    before = counts()
    call = {
        "customer_id": customer.pk,
        "name": "Ann Lee",
        "email": "ann@acme.example",
        "roles": {"legal": True},
        "actor": handler,
        "reason": "named",
        **kwargs,
    }
    if code is None:
        assert services.contact_add(**call).name == "Ann Bcc: x@evil.example"
        return
    with pytest.raises(ValidationError) as refused:
        services.contact_add(**call)
    assert refused.value.code == code
    assert counts() == before


@pytest.mark.parametrize("role", ["Compliance editor", "Compliance approver", "Auditor"])
def test_other_roles_cannot_manage_customers_or_contacts(clock, handler, make_staff, role):
    other = make_staff("other", role)
    customer = services.customer_create(name="Acme GmbH", actor=handler, reason="signed DPA")
    contact = add_contact(customer, handler, "sec@acme.example", security=True)
    before = counts()
    for call in (
        lambda: services.customer_create(name="Other Ltd", actor=other, reason="x"),
        lambda: services.customer_update(customer_id=customer.pk, name="Renamed", actor=other, reason="x"),
        lambda: services.contact_add(
            customer_id=customer.pk, name="X", email="x@acme.example", roles={"legal": True}, actor=other, reason="x"
        ),
        lambda: services.contact_remove(contact_id=contact.pk, actor=other, reason="x"),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert counts() == before
    assert Customer.objects.get().name == "Acme GmbH"


def test_customer_names_are_unique_whatever_the_case(handler):
    services.customer_create(name="Acme GmbH", actor=handler, reason="signed DPA")
    with pytest.raises(ValidationError) as refused:
        services.customer_create(name="  ACME   gmbh ", actor=handler, reason="again")
    assert refused.value.code == "customer_exists"
    assert Customer.objects.count() == 1


# ---------------------------------------------------------------- DPA / BAA fulfilment


def _fulfilled(kind: str, handler, token: str, **data):
    payload = {
        "requester_name": "Ann Example",
        "requester_email": "Ann@Example.org",
        "legal_entity": "Example GmbH",
        "details": "Please countersign.",
        **data,
    }
    if kind == TicketKind.BAA:
        payload.setdefault("entity_status", "covered_entity")
    ticket, _ = ticket_submit(kind=kind, data=payload, submission_token=token, ip="203.0.113.9")
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("Signed.pdf", pdf_bytes("Signed"), content_type="application/pdf")
    return ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=handler, attachment=upload)


def test_a_fulfilled_dpa_creates_its_customer_with_the_signatory_as_legal_contact(clock, handler):
    ticket = _fulfilled(TicketKind.DPA, handler, "submission-token-dpa-00000001")
    customer = Customer.objects.get()
    agreement = CustomerAgreement.objects.get()
    assert (customer.name, customer.dpa_signed_at, customer.baa_signed_at) == ("Example GmbH", clock.now, None)
    assert (agreement.customer, agreement.kind, agreement.ticket_id, agreement.ticket_reference) == (
        customer,
        "dpa",
        ticket.pk,
        ticket.reference,
    )
    assert agreement.linked_by == handler
    contact = Contact.objects.get()
    assert (contact.customer, contact.name, contact.email, contact.roles, contact.confirmed_at) == (
        customer,
        "Ann Example",
        "ann@example.org",
        ["legal"],
        None,
    )
    assert customer.history.get().history_change_reason == f"customer created on fulfilment of {ticket.reference}"
    # The signatory confirms like any contact.
    services.contact_confirm(raw_token=mailed_contact_token("ann@example.org"))


def test_a_later_baa_of_the_same_entity_links_to_the_same_customer(clock, handler):
    _fulfilled(TicketKind.DPA, handler, "submission-token-dpa-00000001")
    clock.advance(days=3)
    baa = _fulfilled(TicketKind.BAA, handler, "submission-token-baa-00000001", legal_entity="EXAMPLE gmbh")
    customer = Customer.objects.get()
    assert customer.baa_signed_at == clock.now and customer.has_baa
    assert sorted(CustomerAgreement.objects.values_list("kind", flat=True)) == ["baa", "dpa"]
    assert Contact.objects.count() == 1  # the same address is not added twice
    # Linking again (a re-run) changes nothing.
    again = services.customer_for_agreement(
        kind="baa",
        ticket_id=baa.pk,
        ticket_reference=baa.reference,
        legal_entity="Other",
        contact_name="X",
        contact_email="x@other.example",
        signed_at=clock.now,
        actor=handler,
    )
    assert again == customer
    assert (Customer.objects.count(), CustomerAgreement.objects.count(), Contact.objects.count()) == (1, 2, 1)


def test_a_refused_fulfilment_creates_no_customer(clock, handler):
    ticket, _ = ticket_submit(
        kind=TicketKind.DPA,
        data={"requester_name": "Ann", "requester_email": "ann@example.org", "legal_entity": "Example GmbH"},
        submission_token="submission-token-dpa-00000002",
    )
    ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.IN_PROGRESS, actor=handler)
    with pytest.raises(ValidationError):  # no countersigned PDF
        ticket_transition(ticket_id=ticket.pk, to_status=TicketStatus.FULFILLED, actor=handler)
    assert (Customer.objects.count(), CustomerAgreement.objects.count(), Contact.objects.count()) == (0, 0, 0)


def test_a_data_subject_request_makes_no_customer(clock, handler):
    from tests.requests_app.conftest import ticket_in

    ticket_in(TicketStatus.FULFILLED, handler)
    assert Customer.objects.count() == 0


# ---------------------------------------------------------------- subprocessor notices and objections


def test_a_subprocessor_change_reaches_each_confirmed_legal_and_privacy_contact_once(
    clock, published, editor, approver, handler
):
    _, _people = customer_with_contacts(handler)
    services.customer_create(name="Ended Ltd", actor=handler, reason="x")
    ended = Customer.objects.get(name="Ended Ltd")
    add_contact(ended, handler, "legal@ended.example", legal=True)
    services.customer_update(customer_id=ended.pk, ended_at=clock.now, actor=handler, reason="contract ended")
    outbox_send_due()
    mail.outbox.clear()
    SubprocessorFactory.create(actor=editor)
    publication = publish_draft(requester=editor, approver=approver, summary="Fly.io hosts the application")

    first = subscription_services.publication_notices_send(publication_id=publication.pk)
    second = subscription_services.publication_notices_send(publication_id=publication.pk)

    assert (first, second) == (2, 0)
    notices = ContactNotice.objects.filter(publication=publication)
    assert sorted(n.contact.email for n in notices) == ["dpo@acme.example", "legal@acme.example"]
    outbox_send_due()
    sent = [m for m in mail.outbox if m.to in (["dpo@acme.example"], ["legal@acme.example"])]
    assert len(sent) == 2
    assert {m.subject for m in sent} == {f"Subprocessor change taking effect {publication.effective_at:%-d %B %Y}"}
    assert "Subprocessor added: Fly.io" in sent[0].body
    assert "https://trust.example.com/subscribe/object/2/" in sent[0].body
    assert "unsubscribe" not in sent[0].body.lower()
    assert all(n.mail.sent_at is not None for n in ContactNotice.objects.select_related("mail"))


def test_a_publication_without_subprocessor_change_tells_no_contact(clock, published, editor, approver, handler):
    customer_with_contacts(handler)
    from compliance.models import Certification
    from tests.factories import save

    cert = Certification.objects.first()
    cert.description = "Renewed"
    save(cert, editor)
    publication = publish_draft(requester=editor, approver=approver)
    subscription_services.publication_notices_send(publication_id=publication.pk)
    assert ContactNotice.objects.count() == 0


def test_an_objection_from_a_contact_is_tied_to_its_customer(clock, published, editor, approver, handler):
    customer, _people = customer_with_contacts(handler)
    SubprocessorFactory.create(actor=editor)
    change = publish_draft(requester=editor, approver=approver, effective_at=clock.now + dt.timedelta(days=30))
    data = {"legal_entity": "Acme", "requester_name": "Dee", "details": "No."}
    from_contact = subscription_services.objection_submit(
        publication=change,
        subprocessor_slug="fly-io",
        data={**data, "requester_email": "DPO@acme.example"},
        submission_token="objection-token-0001-abcdefgh",
    )
    from_stranger = subscription_services.objection_submit(
        publication=change,
        subprocessor_slug="fly-io",
        data={**data, "requester_email": "x@elsewhere.example"},
        submission_token="objection-token-0002-abcdefgh",
    )
    from_pending = subscription_services.objection_submit(
        publication=change,
        subprocessor_slug="fly-io",
        data={**data, "requester_email": "new@acme.example"},
        submission_token="objection-token-0003-abcdefgh",
    )
    assert SubprocessorObjection.objects.get(ticket=from_contact).customer == customer
    assert SubprocessorObjection.objects.get(ticket=from_stranger).customer is None
    assert SubprocessorObjection.objects.get(ticket=from_pending).customer is None


# ---------------------------------------------------------------- incidents


INCIDENT = {
    "title": "Misconfigured storage bucket",
    "description": "A backup bucket was readable without authentication.",
    "subject_categories": "Customers' end users",
    "subjects_approx": 1200,
    "record_categories": "Names, email addresses",
    "records_approx": 1500,
    "consequences": "Phishing risk.",
    "measures": "Bucket closed, access logs reviewed.",
}


def record(handler, customers, **values):
    return services.incident_record(
        actor=handler,
        reason="found by monitoring",
        customer_ids=[c.pk for c in customers],
        **{**INCIDENT, "aware_at": dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC), **values},
    )


def test_an_incident_is_told_the_public_through_an_approved_incident_update(
    clock, published, handler, editor, approver
):
    customer, _ = customer_with_contacts(handler)
    incident = record(handler, [customer])
    news = write_update(editor=editor, slug="storage-incident", title="Storage incident", category="incident")
    other = write_update(editor=editor, slug="roadmap-q3", title="Roadmap", category="roadmap")
    with pytest.raises(ValidationError) as refused:
        services.incident_update(incident_id=incident.pk, actor=handler, reason="tell", public_update=other)
    assert refused.value.code == "update_not_incident"
    incident.refresh_from_db()
    assert incident.public_update is None
    services.incident_update(incident_id=incident.pk, actor=handler, reason="told on the page", public_update=news)
    incident.refresh_from_db()
    assert incident.public_update == news
    assert incident.history.first().history_change_reason == "told on the page"
    # The link is the handler's; what reaches the public is the update, published by a second person.
    assert news.publications.count() == 0
    publication = publish_update(update=news, requester=editor, approver=approver)
    assert (publication.update, publication.revision) == (news, 1)


def test_recording_an_incident_keeps_its_facts_and_the_page_promise(
    clock, published, handler, django_capture_on_commit_callbacks
):
    customer, _ = customer_with_contacts(handler)
    with recorded(incident_recorded) as events, django_capture_on_commit_callbacks(execute=True):
        incident = record(handler, [customer], company_is_controller=True)
    assert incident.reference == "INC-2026-0001"
    assert (incident.recorded_by, incident.recorded_at, incident.aware_at) == (
        handler,
        clock.now,
        dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC),
    )
    assert (incident.subjects_approx, incident.records_approx) == (1200, 1500)
    # The seed page: "affected users notified within 72 hours of confirmed incident".
    assert incident.processor_notice_hours == 72
    assert incident.processor_notice_source.startswith("page, incident response: “Breach notification: affected")
    assert [a.customer for a in incident.affected.all()] == [customer]
    assert events == [IncidentRecorded(incident_id=incident.pk, reference="INC-2026-0001")]
    assert incident.history.get().history_change_reason == "incident recorded: found by monitoring"
    clocks = {c.key: c.due_at for c in clocks_for(incident)}
    assert clocks == {
        "processor": dt.datetime(2026, 6, 4, 8, 0, tzinfo=UTC),
        "authority": dt.datetime(2026, 6, 4, 8, 0, tzinfo=UTC),
    }
    assert record(handler, []).reference == "INC-2026-0002"


def test_a_page_promising_fewer_hours_shortens_the_processor_clock(clock, published, editor, approver, handler):
    from compliance.models import Control
    from tests.factories import save

    line = Control.objects.get(slug="breach-notification")
    line.body = "customers notified within 24 hours of awareness"
    save(line, editor)
    publish_draft(requester=editor, approver=approver)
    customer, _ = customer_with_contacts(handler)
    baa = services.customer_create(name="Clinic Inc", actor=handler, reason="x")
    services.customer_for_agreement(
        kind="baa",
        ticket_id=999,
        ticket_reference="BAA-2026-000999",
        legal_entity="Clinic Inc",
        contact_name="",
        contact_email="",
        signed_at=clock.now,
        actor=handler,
    )
    incident = record(handler, [customer, baa], aware_at=dt.datetime(2026, 5, 29, 17, 0, tzinfo=UTC))  # a Friday
    assert incident.processor_notice_hours == 24
    assert {c.key: c.due_at for c in clocks_for(incident)} == {
        "processor": dt.datetime(2026, 5, 30, 17, 0, tzinfo=UTC),  # Saturday
        "hipaa": dt.datetime(2026, 7, 28, 17, 0, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"title": ""}, "title_required"),
        ({"description": "  "}, "description_required"),
        ({"aware_at": dt.datetime(2026, 6, 1, 9, 0, 1, tzinfo=UTC)}, "aware_in_future"),
        ({"aware_at": dt.datetime(2026, 6, 1, 8, 0)}, "aware_at_required"),  # no time zone
        ({"subjects_approx": -1}, "number_invalid"),
        ({"records_approx": "many"}, "number_invalid"),
        ({"severity": "high"}, "field_unknown"),
    ],
)
def test_bad_incident_input_is_refused_and_changes_nothing(clock, published, handler, values, code):
    customer, _ = customer_with_contacts(handler)
    before = counts()
    with pytest.raises(ValidationError) as refused:
        record(handler, [customer], **values)
    assert refused.value.code == code
    assert counts() == before


def test_an_unknown_customer_is_refused(clock, published, handler):
    with pytest.raises(ValidationError) as refused:
        services.incident_record(actor=handler, reason="x", customer_ids=[424242], aware_at=clock.now, **INCIDENT)
    assert refused.value.code == "customer_unknown"
    assert Incident.objects.count() == 0


def test_notices_reach_each_confirmed_security_and_privacy_contact_once(
    clock, published, handler, django_capture_on_commit_callbacks
):
    customer, _people = customer_with_contacts(handler)
    other, _others = customer_with_contacts(handler, name="Beta AG")
    _unaffected, _ = customer_with_contacts(handler, name="Gamma SA")
    incident = record(handler, [customer, other])
    outbox_send_due()  # the pending contacts' confirmation links
    mail.outbox.clear()

    clock.advance(hours=5)
    with recorded(incident_notified) as events, django_capture_on_commit_callbacks(execute=True):
        first = services.incident_notify(
            incident_id=incident.pk, message="We are investigating.", actor=handler, reason="initial notice"
        )
    notices = IncidentNotice.objects.filter(message=first)
    expected = sorted(["sec@acme.example", "dpo@acme.example", "sec@beta.example", "dpo@beta.example"])
    assert sorted(n.contact.email for n in notices) == expected
    assert {n.follow_up_of for n in notices} == {None}
    assert events == [IncidentNotified(incident_id=incident.pk, reference=incident.reference, notice_count=4)]
    incident.refresh_from_db()
    assert incident.first_notified_at == clock.now
    # Sending again writes nothing new.
    assert services.incident_notices_send(incident_id=incident.pk, message_id=first.pk) == 0

    clock.advance(minutes=2)
    outbox_send_due()
    assert sorted(m.to[0] for m in mail.outbox) == expected
    message = next(m for m in mail.outbox if m.to == ["sec@acme.example"])
    assert message.subject == f"Security incident notice {incident.reference}"
    assert "We are investigating." in message.body
    assert "A backup bucket was readable without authentication." in message.body
    assert "(about 1200)" in message.body
    assert all(n.mail.sent_at == clock.now for n in IncidentNotice.objects.select_related("mail"))
    processor = next(c for c in clocks_for(incident) if c.key == "processor")
    assert processor.state(clock.now) == "met"

    # A follow-up: one more notice each, linked to the contact's first.
    follow = services.incident_notify(
        incident_id=incident.pk, message="Root cause found.", actor=handler, reason="update"
    )
    assert (follow.round, follow.kind) == (2, "follow_up")
    for notice in IncidentNotice.objects.filter(message=follow).select_related("follow_up_of"):
        assert notice.follow_up_of.message == first
        assert notice.follow_up_of.contact == notice.contact
    assert IncidentNotice.objects.count() == 8
    assert [h.history_change_reason for h in incident.history.order_by("history_id")] == [
        "incident recorded: found by monitoring",
        "First notice (round 1): initial notice",
        "first notices to affected customers written",
        "Follow-up (round 2): update",
    ]


def test_notify_refusals_change_nothing(clock, published, handler, make_staff, auditor):
    customer = services.customer_create(name="Quiet Ltd", actor=handler, reason="x")
    add_contact(customer, handler, "legal@quiet.example", legal=True)  # not told of incidents
    add_contact(customer, handler, "sec@quiet.example", confirm=False, security=True)  # unconfirmed
    incident = record(handler, [customer])
    editor = make_staff("ed", "Compliance editor")
    before = counts()
    with pytest.raises(ValidationError) as nobody:
        services.incident_notify(incident_id=incident.pk, message="Hello", actor=handler, reason="x")
    assert nobody.value.code == "no_recipients"
    with pytest.raises(ValidationError) as empty:
        services.incident_notify(incident_id=incident.pk, message="  ", actor=handler, reason="x")
    assert empty.value.code == "message_required"
    for who in (editor, auditor):
        with pytest.raises(PermissionDenied):
            services.incident_notify(incident_id=incident.pk, message="Hello", actor=who, reason="x")
        with pytest.raises(PermissionDenied):
            record(who, [customer])
        with pytest.raises(PermissionDenied):
            services.incident_update(incident_id=incident.pk, title="Changed", actor=who, reason="x")
    assert counts() == before
    assert Incident.objects.get().title == INCIDENT["title"]


def test_an_update_corrects_facts_and_adds_customers_never_removes(clock, published, handler):
    customer, _ = customer_with_contacts(handler)
    other = services.customer_create(name="Beta AG", actor=handler, reason="x")
    incident = record(handler, [customer])
    updated = services.incident_update(
        incident_id=incident.pk,
        records_approx=2000,
        add_customer_ids=[other.pk, customer.pk],
        actor=handler,
        reason="count revised",
    )
    assert updated.records_approx == 2000
    assert sorted(a.customer.name for a in updated.affected.all()) == ["Acme GmbH", "Beta AG"]
    assert updated.history.first().history_change_reason == "count revised (customers marked affected: Beta AG)"
    with pytest.raises(ValidationError) as same:
        services.incident_update(incident_id=incident.pk, records_approx=2000, actor=handler, reason="again")
    assert same.value.code == "nothing_changed"


def test_every_step_is_chained_and_the_chain_verifies(clock, published, handler):
    customer, _people = customer_with_contacts(handler)
    incident = record(handler, [customer])
    services.incident_notify(incident_id=incident.pk, message="Hello", actor=handler, reason="initial")
    labels = set(ChainLink.objects.values_list("model_label", flat=True))
    assert {
        "customers.historicalcustomer",
        "customers.historicalcontact",
        "customers.historicalincident",
        "customers.incidentcustomer",
        "customers.incidentmessage",
        "customers.incidentnotice",
    } <= labels
    assert verify_chain().ok


def test_contacts_are_erased_after_the_customer_retention(clock, published, handler):
    customer, _people = customer_with_contacts(handler)
    incident = record(handler, [customer])
    services.incident_notify(incident_id=incident.pk, message="Hello", actor=handler, reason="initial")
    outbox_send_due()
    services.customer_update(customer_id=customer.pk, ended_at=clock.now, actor=handler, reason="contract ended")
    clock.advance(days=729)
    assert contacts_purge() == {"contacts": 0, "mails": 0}
    clock.advance(days=1)
    result = contacts_purge()
    assert result["contacts"] == 4
    assert contacts_purge() == {"contacts": 0, "mails": 0}
    for contact in Contact.objects.all():
        assert (contact.name, contact.email) == ("[removed]", f"contact-{contact.pk}@erased.invalid")
        assert set(contact.history.values_list("email", flat=True)) == {f"contact-{contact.pk}@erased.invalid"}
    assert not OutboxMail.objects.filter(to__endswith="acme.example").exists()
    assert Customer.objects.get().name == "Acme GmbH"
    assert IncidentNotice.objects.count() == 2  # the notices stay as evidence
    assert verify_chain().ok
