"""Retention of subscriber addresses.

An address is kept while it receives notices. SUBSCRIBER_RETENTION_DAYS after
it unsubscribed, or after the confirmation link of a sign-up that was never
confirmed expired, it goes: the row is deleted, or, when notices were sent to
it, kept with its address replaced (the notices, and so the counts per
version, stay). The mails queued for it lose recipient, bodies, headers and links.
An address with a confirmation link still valid (or recently expired) is kept.

The subscriber's versions are chained with a salted commitment to the address
(`evidence.personal`): the purge replaces the address in every version too,
through `evidence.db.allow_history_purge` (a chained PurgeRecord), and deletes
the salts, so the chain still verifies.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.enums import MailStatus
from core.models import OutboxMail
from evidence.db import allow_history_purge
from evidence.personal import personal_data_forget

from .models import Subscriber
from .services import CONFIRM_VALID_DAYS

logger = logging.getLogger(__name__)

ERASED_DOMAIN = "erased.invalid"  # reserved TLD: never deliverable
SUBSCRIPTION_TEMPLATES = ("subscription_confirm", "publication_notice", "update_notice")
RETENTION_REASON = "retention purge"
PURGE_RECORD_REASON = "retention purge of a subscriber's address: {rows} versions"


def erased_email(subscriber_id: int) -> str:
    return f"subscriber-{subscriber_id}@{ERASED_DOMAIN}"


def subscribers_due_for_purge(now: dt.datetime):
    cutoff = now - dt.timedelta(days=settings.SUBSCRIBER_RETENTION_DAYS)
    link_expired_before_cutoff = Q(confirm_sent_at__lte=cutoff - dt.timedelta(days=CONFIRM_VALID_DAYS))
    return (
        Subscriber.objects.exclude(email__endswith=f"@{ERASED_DOMAIN}")
        .filter(Q(confirm_token_hash__isnull=True) | link_expired_before_cutoff)
        .filter(Q(unsubscribed_at__lte=cutoff) | (Q(confirmed_at__isnull=True) & link_expired_before_cutoff))
    )


def subscribers_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Remove the addresses past retention (see module). Counts only; a second
    run finds nothing."""
    now = now or timezone.now()
    counts = {"deleted": 0, "anonymised": 0, "mails": 0}
    for subscriber_id in list(subscribers_due_for_purge(now).order_by("id").values_list("pk", flat=True)):
        with transaction.atomic():
            # Re-checked under the lock: a new sign-up may have come in meanwhile.
            subscriber = subscribers_due_for_purge(now).select_for_update().filter(pk=subscriber_id).first()
            if subscriber is None:
                continue
            mails = OutboxMail.objects.filter(
                to=subscriber.email,
                template__in=SUBSCRIPTION_TEMPLATES,
                about_id__isnull=True,
            )
            mails.filter(status=MailStatus.QUEUED).update(status=MailStatus.FAILED, last_error=RETENTION_REASON)
            counts["mails"] += mails.update(to="", body_text="", body_html="", headers={}, links={}, purged_at=now)
            if subscriber.notices.exists() or subscriber.update_notices.exists():
                subscriber.email = erased_email(subscriber.pk)
                subscriber.confirm_nonce, subscriber.confirm_token_hash = "", None
                subscriber.save(update_fields=["email", "confirm_nonce", "confirm_token_hash"])
                counts["anonymised"] += 1
            else:
                subscriber.delete()
                counts["deleted"] += 1
            versions = Subscriber.history.filter(id=subscriber_id)
            with connection.cursor() as cursor:
                allow_history_purge(cursor, reason=PURGE_RECORD_REASON.format(rows=versions.count()))
            personal_data_forget(versions)
            versions.update(email=erased_email(subscriber_id))
        logger.info("Subscriber id=%s removed after retention", subscriber_id)
    return counts
