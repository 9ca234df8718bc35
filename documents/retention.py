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
may name the requester, is replaced (who revoked it and when stay), on the
grant and on every version of it.

All of these rows are chained with salted commitments to their personal
fields (`evidence.personal`): the purge rewrites them through
`evidence.db.allow_history_purge` (a chained PurgeRecord) and deletes their
salts, so the chain still verifies.
"""

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from evidence.db import allow_history_purge
from evidence.personal import personal_data_forget
from requests_app.redaction import REMOVED

from .models import DocumentDownload, DocumentGrant, NdaAcceptance

HAS_CLIENT_DATA = Q(ip__isnull=False) | ~Q(user_agent="")
PURGE_RECORD_REASON = (
    "retention purge of document access logs: {downloads} downloads, {acceptances} NDA acceptances, "
    "{grants} revocation reasons"
)


def document_logs_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Blank IP and user agent of acceptances and downloads past retention or
    of a purged ticket, and the revocation reason of a purged ticket's grant.
    Returns counts only; a second run finds nothing."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.DOCUMENT_LOG_RETENTION_DAYS)
    with transaction.atomic():
        downloads = DocumentDownload.objects.filter(
            HAS_CLIENT_DATA,
            ((Q(grant__revoked_at__lte=cutoff) | Q(grant__expires_at__lte=cutoff)) & Q(grant__ticket__legal_hold=False))
            | Q(grant__ticket__personal_data_purged_at__isnull=False),
        )
        grant_ended = (
            Q(ticket__document_grant__revoked_at__lte=cutoff)
            | Q(ticket__document_grant__expires_at__lte=cutoff)
            | Q(ticket__document_grant__isnull=True, ticket__closed_at__lte=cutoff)
        )
        acceptances = NdaAcceptance.objects.filter(
            HAS_CLIENT_DATA,
            (grant_ended & Q(ticket__legal_hold=False)) | Q(ticket__personal_data_purged_at__isnull=False),
        )
        grants = DocumentGrant.objects.filter(ticket__personal_data_purged_at__isnull=False).exclude(
            revoke_reason__in=["", REMOVED]
        )
        # Fixed lists: the filters match nothing once the rows are blanked.
        download_rows = DocumentDownload.objects.filter(pk__in=list(downloads.values_list("pk", flat=True)))
        acceptance_rows = NdaAcceptance.objects.filter(pk__in=list(acceptances.values_list("pk", flat=True)))
        grant_ids = list(grants.values_list("pk", flat=True))
        counts = {"acceptances": acceptance_rows.count(), "downloads": download_rows.count(), "grants": len(grant_ids)}
        if not any(counts.values()):
            return counts
        with connection.cursor() as cursor:
            allow_history_purge(cursor, reason=PURGE_RECORD_REASON.format(**counts))
        for rows in (download_rows, acceptance_rows):
            personal_data_forget(rows)
            rows.update(ip=None, user_agent="")
        if grant_ids:
            versions = DocumentGrant.history.filter(id__in=grant_ids)
            personal_data_forget(versions)
            versions.exclude(revoke_reason="").update(revoke_reason=REMOVED)
            DocumentGrant.objects.filter(pk__in=grant_ids).update(revoke_reason=REMOVED)
    return counts
