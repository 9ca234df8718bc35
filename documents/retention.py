"""Retention of the access log: client addresses and user agents.

An NDA acceptance and each download keep the requester's IP address and
user agent. They are needed while access lasts and a while after (to answer
"who downloaded this, from where"), not forever: DOCUMENT_LOG_RETENTION_DAYS
after the grant ended (expired or revoked; without a grant, after the request
was closed) both are blanked. The rows, their times, the NDA version and the
file hashes stay as evidence, so counts of acceptances and downloads do not
change. Requests on legal hold are skipped, as in the ticket purge.
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import DocumentDownload, NdaAcceptance

HAS_CLIENT_DATA = Q(ip__isnull=False) | ~Q(user_agent="")


def document_logs_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Blank IP and user agent of acceptances and downloads past retention.
    Returns counts only; a second run finds nothing."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.DOCUMENT_LOG_RETENTION_DAYS)
    with transaction.atomic():
        # Neither model keeps history: a plain UPDATE leaves no copy behind.
        downloads = DocumentDownload.objects.filter(
            HAS_CLIENT_DATA,
            Q(grant__revoked_at__lte=cutoff) | Q(grant__expires_at__lte=cutoff),
            grant__ticket__legal_hold=False,
        ).update(ip=None, user_agent="")
        acceptances = NdaAcceptance.objects.filter(
            HAS_CLIENT_DATA,
            Q(ticket__document_grant__revoked_at__lte=cutoff)
            | Q(ticket__document_grant__expires_at__lte=cutoff)
            | Q(ticket__document_grant__isnull=True, ticket__closed_at__lte=cutoff),
            ticket__legal_hold=False,
        ).update(ip=None, user_agent="")
    return {"acceptances": acceptances, "downloads": downloads}
