"""Retention of customer contacts' names and addresses.

Business contact data follows the customer record, not the ticket it came
from: a contact's name and address are kept while the contact may receive
notices, and erased CUSTOMER_CONTACT_RETENTION_DAYS (730) after the contact
was removed or the relationship with the customer ended (`ended_at`). The
row stays (the notices sent to it are evidence) with the name "[removed]"
and the address `contact-<id>@erased.invalid`; mails to it lose recipient,
bodies, headers and links. The contact's versions are chained with salted
commitments to name and address; the purge rewrites them through
`evidence.db.allow_history_purge` and deletes the salts, so the chain still
verifies. The customer's own record (an organization) stays.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.enums import MailStatus
from core.history import stamp_history, system_actor
from core.models import OutboxMail
from evidence.db import allow_history_purge
from evidence.personal import personal_data_forget

from .models import Contact
from .services import CONTACT_TEMPLATES

logger = logging.getLogger(__name__)

ERASED_NAME = "[removed]"
RETENTION_REASON = "retention purge"
PURGE_RECORD_REASON = "retention purge of a customer contact: {rows} versions"


def erased_email(contact_id: int) -> str:
    return f"contact-{contact_id}@erased.invalid"


def contacts_due_for_purge(now: dt.datetime) -> QuerySet[Contact]:
    cutoff = now - dt.timedelta(days=settings.CUSTOMER_CONTACT_RETENTION_DAYS)
    return Contact.objects.filter(personal_data_purged_at__isnull=True).filter(
        Q(removed_at__lte=cutoff) | Q(customer__ended_at__lte=cutoff)
    )


def contacts_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Erase the contacts past retention (see module). Counts only; a second run finds nothing."""
    now = now or timezone.now()
    actor = system_actor()
    counts = {"contacts": 0, "mails": 0}
    for contact_id in list(contacts_due_for_purge(now).order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic():
            contact = contacts_due_for_purge(now).select_for_update().filter(pk=contact_id).first()
            if contact is None:
                continue
            mails = OutboxMail.objects.filter(to=contact.email, template__in=CONTACT_TEMPLATES)
            mails.filter(status=MailStatus.QUEUED).update(status=MailStatus.FAILED, last_error=RETENTION_REASON)
            counts["mails"] += mails.update(to="", body_text="", body_html="", headers={}, links={}, purged_at=now)
            contact.name, contact.email = ERASED_NAME, erased_email(contact_id)
            contact.confirm_nonce, contact.confirm_token_hash = "", None
            contact.personal_data_purged_at = now
            stamp_history(contact, actor=actor, reason=RETENTION_REASON)
            contact.save()
            versions = Contact.history.filter(id=contact_id)
            with connection.cursor() as cursor:
                allow_history_purge(cursor, reason=PURGE_RECORD_REASON.format(rows=versions.count()))
            personal_data_forget(versions)
            versions.update(name=ERASED_NAME, email=erased_email(contact_id))
            counts["contacts"] += 1
        logger.info("Contact id=%s erased after retention", contact_id)
    return counts
