"""The register and the customer screens in the admin: who may do what,
the clocks shown, notices sent from the admin, and the CSV export."""

import csv
import datetime as dt
import io

import pytest
from django.test import Client

from customers import services
from customers.models import Contact, Customer, Incident, IncidentNotice
from customers.selectors import REGISTER_COLUMNS

from .conftest import customer_with_contacts

UTC = dt.UTC


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def incident(clock, published, handler):
    customer, _ = customer_with_contacts(handler)
    return services.incident_record(
        actor=handler,
        reason="found by monitoring",
        customer_ids=[customer.pk],
        title="Leak, =cmd",
        aware_at=dt.datetime(2026, 5, 29, 17, 0, tzinfo=UTC),  # a Friday
        description="A bucket was public.",
        subjects_approx=10,
        company_is_controller=True,
    )


def test_a_handler_adds_a_customer_and_a_contact_with_a_reason(clock, handler):
    client = client_for(handler)
    refused = client.post("/admin/customers/customer/add/", {"name": "Acme GmbH", "notes": "", "change_reason": ""})
    assert refused.status_code == 200 and Customer.objects.count() == 0
    response = client.post(
        "/admin/customers/customer/add/", {"name": "Acme GmbH", "notes": "", "change_reason": "signed on paper"}
    )
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert customer.history.get().history_change_reason == "customer added: signed on paper"
    response = client.post(
        "/admin/customers/contact/add/",
        {
            "customer": customer.pk,
            "name": "Sam Sec",
            "email": "sam@acme.example",
            "security": "on",
            "change_reason": "named in the DPA",
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert (contact.name, contact.email, contact.roles, contact.confirmed_at) == (
        "Sam Sec",
        "sam@acme.example",
        ["security"],
        None,
    )
    # No role: refused on the page, nothing written.
    response = client.post(
        "/admin/customers/contact/add/",
        {"customer": customer.pk, "name": "No Role", "email": "x@acme.example", "change_reason": "x"},
        follow=True,
    )
    assert "at least one role" in response.content.decode()
    assert Contact.objects.count() == 1


def test_the_register_shows_the_clocks_and_sends_notices(clock, incident, handler):
    client = client_for(handler)
    page = client.get(f"/admin/customers/incident/{incident.pk}/change/").content.decode()
    assert "Processor to controller: 72 h, due 2026-06-01 17:00 UTC, running, 8.0 h left" in page
    assert "Controller to supervisory authority: 72 h, due 2026-06-01 17:00 UTC, running, 8.0 h left" in page
    assert f"/admin/customers/incident/{incident.pk}/notify/" in page
    assert client.get(f"/admin/customers/incident/{incident.pk}/notify/").status_code == 200
    response = client.post(
        f"/admin/customers/incident/{incident.pk}/notify/",
        {"message": "We are investigating.", "change_reason": "initial notice"},
    )
    assert response.status_code == 302
    assert IncidentNotice.objects.count() == 2
    listing = client.get("/admin/customers/incident/").content.decode()
    assert "Processor to controller: met; Controller to supervisory authority: running" in listing


def test_the_register_exports_as_csv_with_exact_values(clock, incident, auditor):
    response = client_for(auditor).get("/admin/customers/incident/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == list(REGISTER_COLUMNS)
    assert len(rows) == 1
    row = rows[0]
    assert row["reference"] == "INC-2026-0001"
    assert row["title"] == "Leak, =cmd"
    assert row["aware_at"] == "2026-05-29T17:00:00+00:00"
    assert row["recorded_by"] == "hana"
    assert row["affected_customers"] == "Acme GmbH"
    assert row["subjects_approx"] == "10"
    assert row["processor_notice_hours"] == "72"
    assert (row["processor_due_at"], row["processor_state"]) == ("2026-06-01T17:00:00+00:00", "running")
    assert (row["authority_due_at"], row["authority_state"]) == ("2026-06-01T17:00:00+00:00", "running")
    assert (row["hipaa_due_at"], row["hipaa_state"]) == ("", "not applicable")
    assert (row["notices"], row["notices_sent"]) == ("0", "0")


def test_the_auditor_reads_everything_and_changes_nothing(clock, incident, auditor):
    client = client_for(auditor)
    customer = Customer.objects.get()
    contact = Contact.objects.first()
    for url in (
        "/admin/customers/incident/",
        f"/admin/customers/incident/{incident.pk}/change/",
        f"/admin/customers/incident/{incident.pk}/history/",
        "/admin/customers/customer/",
        f"/admin/customers/customer/{customer.pk}/change/",
        f"/admin/customers/contact/{contact.pk}/change/",
        "/admin/customers/incidentnotice/",
        "/admin/customers/customeragreement/",
    ):
        assert client.get(url).status_code == 200, url
    page = client.get(f"/admin/customers/incident/{incident.pk}/change/").content.decode()
    assert "Processor to controller" in page
    assert f"/admin/customers/incident/{incident.pk}/notify/" not in page
    before = (Incident.objects.get().title, IncidentNotice.objects.count(), Customer.objects.count())
    assert client.get(f"/admin/customers/incident/{incident.pk}/notify/").status_code == 403
    assert (
        client.post(
            f"/admin/customers/incident/{incident.pk}/notify/", {"message": "x", "change_reason": "x"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/admin/customers/incident/{incident.pk}/change/", {"title": "Changed", "change_reason": "x"}
        ).status_code
        == 403
    )
    assert client.post("/admin/customers/customer/add/", {"name": "X", "change_reason": "x"}).status_code == 403
    assert (Incident.objects.get().title, IncidentNotice.objects.count(), Customer.objects.count()) == before


@pytest.mark.parametrize("role", ["Compliance editor", "Compliance approver"])
def test_editors_and_approvers_see_no_customer_or_incident(clock, incident, make_staff, role):
    client = client_for(make_staff("someone", role))
    for url in (
        "/admin/customers/incident/",
        "/admin/customers/incident/export/",
        f"/admin/customers/incident/{incident.pk}/notify/",
        "/admin/customers/customer/",
        "/admin/customers/contact/",
    ):
        assert client.get(url).status_code == 403, url
    assert IncidentNotice.objects.count() == 0
