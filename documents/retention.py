"""Retention of the access log: client addresses and user agents.

An NDA acceptance and each download keep the requester's IP address and
user agent. They are needed while access lasts and a while after (to answer
"who downloaded this, from where"), not forever: DOCUMENT_LOG_RETENTION_DAYS
after the grant ended (expired or revoked; without a grant, after the request
was closed) both are blanked. The rows, their times, the NDA version and the
file hashes stay as evidence, so counts of acceptances and downloads do not
change. Requests on legal hold are skipped, as in the ticket purge.

Once the request's ticket has lost its requester data to the ticket purge
(which runs first), its acceptance and downloads lose IP and user agent too,
whatever the grant, and the reason staff gave for revoking the grant, which
may name the requester, is replaced (who revoked it and when stay).
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from requests_app.redaction import REMOVED

from .models import DocumentDownload, DocumentGrant, NdaAcceptance

HAS_CLIENT_DATA = Q(ip__isnull=False) | ~Q(user_agent="")


def document_logs_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Blank IP and user agent of acceptances and downloads past retention or
    of a purged ticket, and the revocation reason of a purged ticket's grant.
    Returns counts only; a second run finds nothing."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.DOCUMENT_LOG_RETENTION_DAYS)
    with transaction.atomic():
        # Neither model keeps history: a plain UPDATE leaves no copy behind.
        downloads = DocumentDownload.objects.filter(
            HAS_CLIENT_DATA,
            ((Q(grant__revoked_at__lte=cutoff) | Q(grant__expires_at__lte=cutoff)) & Q(grant__ticket__legal_hold=False))
            | Q(grant__ticket__personal_data_purged_at__isnull=False),
        ).update(ip=None, user_agent="")
        grant_ended = (
            Q(ticket__document_grant__revoked_at__lte=cutoff)
            | Q(ticket__document_grant__expires_at__lte=cutoff)
            | Q(ticket__document_grant__isnull=True, ticket__closed_at__lte=cutoff)
        )
        acceptances = NdaAcceptance.objects.filter(
            HAS_CLIENT_DATA,
            (grant_ended & Q(ticket__legal_hold=False)) | Q(ticket__personal_data_purged_at__isnull=False),
        ).update(ip=None, user_agent="")
        grants = (
            DocumentGrant.objects.filter(ticket__personal_data_purged_at__isnull=False)
            .exclude(revoke_reason__in=["", REMOVED])
            .update(revoke_reason=REMOVED)
        )
    return {"acceptances": acceptances, "downloads": downloads, "grants": grants}
