"""Every write to tickets goes through here.

Each service runs in one transaction and leaves, in that transaction, the
ticket change, its history row (actor and reason), a `TicketEvent` and the
outbox mail the change implies. Services raise `ValidationError` with a code;
`TicketConflict` (a ValidationError) when another change got there first.
Personal data of requesters is never logged: logs name ticket ids and references.

The services are split by seam: `intake` (submission, verification),
`workflow` (staff changes), `common` (shared helpers) and, in its own module,
`requests_app.retention`. Import them from here.
"""

from ..retention import tickets_purge_personal_data
from ..selectors import ticket_by_status_token, ticket_status_token
from .common import MESSAGE_MAX_LENGTH, TicketConflict
from .intake import (
    SUBMIT_REASON,
    ticket_resend_verification,
    ticket_submit,
    ticket_verify,
    tickets_expire_unverified,
)
from .workflow import (
    STATE_STAMP,
    requester_reply,
    ticket_add_message,
    ticket_add_note,
    ticket_assign,
    ticket_extend,
    ticket_request_info,
    ticket_set_legal_hold,
    ticket_transition,
)

__all__ = [
    "MESSAGE_MAX_LENGTH",
    "STATE_STAMP",
    "SUBMIT_REASON",
    "TicketConflict",
    "requester_reply",
    "ticket_add_message",
    "ticket_add_note",
    "ticket_assign",
    "ticket_by_status_token",
    "ticket_extend",
    "ticket_request_info",
    "ticket_resend_verification",
    "ticket_set_legal_hold",
    "ticket_status_token",
    "ticket_submit",
    "ticket_transition",
    "ticket_verify",
    "tickets_expire_unverified",
    "tickets_purge_personal_data",
]
