"""What documents does when requests_app tells it something happened.

- `TicketFulfilled` of a document access ticket: grant access
  (`services.document_grant_issue`), after the fulfilment committed. If that
  fails (logged by `core.events`), the ticket stays fulfilled without a grant
  until the periodic job `documents.grants` (`services.document_grants_redrive`)
  issues it; the service is idempotent, so the two never grant twice.
- `RetentionDue`: blank the client addresses of the access log past retention
  (`retention.document_logs_purge`); the next run redoes a failed one.
"""

from requests_app.enums import TicketKind
from requests_app.events import RetentionDue, TicketFulfilled, retention_due, ticket_fulfilled

from .retention import document_logs_purge
from .services import document_grant_issue


def on_ticket_fulfilled(event: TicketFulfilled) -> None:
    if event.kind == TicketKind.DOCUMENT_ACCESS:
        document_grant_issue(ticket_id=event.ticket_id)


def on_retention_due(event: RetentionDue) -> None:
    event.counts["documents"] = document_logs_purge(now=event.now)


def connect() -> None:
    ticket_fulfilled.connect(on_ticket_fulfilled, dispatch_uid="documents.ticket_fulfilled")
    retention_due.connect(on_retention_due, dispatch_uid="documents.retention_due")
