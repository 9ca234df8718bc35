"""Every write to tickets goes through here.

Each service runs in one transaction and leaves, in that transaction, the
ticket change, its history row (actor and reason), a `TicketEvent` and the
outbox mail the change implies. Services raise `ValidationError` with a code;
`TicketConflict` (a ValidationError) when another change got there first.
Personal data of requesters is never logged: logs name ticket ids and references.

The services are split by seam: `intake` (submission), `verification` (the
requester's identity), `workflow` (status moves by the table in
`enums.STATES`, and the other staff changes), `common` (shared helpers) and,
in its own module, `requests_app.retention`. Import them from here.
"""

from ..enums import STATE_STAMP
from ..retention import tickets_purge_personal_data
from ..selectors import ticket_by_status_token, ticket_status_token
from .common import MESSAGE_MAX_LENGTH, TicketConflict
from .intake import SUBMIT_REASON, ticket_submit
from .verification import (
    ticket_agent_check,
    ticket_resend_verification,
    ticket_verify,
    ticket_verify_otherwise,
    tickets_expire_unverified,
)
from .workflow import (
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
    "ticket_agent_check",
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
    "ticket_verify_otherwise",
    "tickets_expire_unverified",
    "tickets_purge_personal_data",
]
