import re

import pytest
from django.core import mail
from django.core.cache import cache

from core.outbox import outbox_send_due
from customers import services
from customers.models import Contact, Customer


@pytest.fixture(autouse=True)
def _customer_settings(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.SITE_URL = "https://trust.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "trust@example.com"
    settings.UNSUBSCRIBE_MAILTO = ""
    settings.STAFF_NOTIFY_EMAILS = []
    settings.TIME_ZONE = "UTC"
    settings.HOLIDAY_COUNTRY = "US"
    settings.SUBPROCESSOR_OBJECTION_DAYS = 30
    settings.PUBLIC_MAIL_PER_ADDRESS_PER_DAY = 1000
    settings.INCIDENT_PROCESSOR_NOTICE_HOURS = 72
    settings.CUSTOMER_CONTACT_RETENTION_DAYS = 730
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def handler(make_staff):
    return make_staff("hana", "Request handler")


@pytest.fixture
def auditor(make_staff):
    return make_staff("audra", "Auditor")


def mailed_contact_token(to: str) -> str:
    """The raw token of the last /customers/confirm/ link mailed to `to`."""
    outbox_send_due()
    for message in reversed(mail.outbox):
        if message.to == [to]:
            found = re.search(r"/customers/confirm/([A-Za-z0-9_-]+)/", str(message.body))
            if found:
                return found.group(1)
    raise AssertionError(f"no confirmation link was mailed to {to}")


def add_contact(customer: Customer, actor, email: str, *, confirm: bool = True, **roles: bool) -> Contact:
    contact = services.contact_add(
        customer_id=customer.pk,
        name=email.split("@")[0].title(),
        email=email,
        roles=roles or {"security": True},
        actor=actor,
        reason="named in the agreement",
    )
    if confirm:
        services.contact_confirm(raw_token=mailed_contact_token(email))
        contact.refresh_from_db()
    return contact


def customer_with_contacts(actor, name: str = "Acme GmbH"):
    """A customer with a confirmed security contact, a confirmed privacy
    contact, a confirmed legal-only contact and an unconfirmed security one."""
    customer = services.customer_create(name=name, actor=actor, reason="signed DPA on paper")
    slug = name.split()[0].lower()
    return customer, {
        "security": add_contact(customer, actor, f"sec@{slug}.example", security=True),
        "privacy": add_contact(customer, actor, f"dpo@{slug}.example", privacy=True),
        "legal": add_contact(customer, actor, f"legal@{slug}.example", legal=True),
        "pending": add_contact(customer, actor, f"new@{slug}.example", confirm=False, security=True),
    }
