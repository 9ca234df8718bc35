"""Kinds and states of tickets, and the workflow: one table of states and moves.

Everything that depends on a ticket's state reads `STATES`: `ticket_transition`
(which moves exist, what each needs, the time it stamps, whether the requester
is told and which mail they get), the verification and reply services (where a
confirmed identity or a reply moves the ticket), the admin's buttons and forms,
and the requester's status page (the wording, and whether they may reply).
"""

from dataclasses import dataclass

from django.db import models


class TicketKind(models.TextChoices):
    """What a requester asks for. New kinds (e.g. a subprocessor objection or a
    document access request) are added here with a reference prefix below."""

    DPA = "dpa", "Data processing agreement (DPA)"
    BAA = "baa", "Business associate agreement (BAA)"
    DSR_ERASURE = "dsr_erasure", "Erasure (GDPR Art. 17)"
    DSR_ACCESS = "dsr_access", "Access (GDPR Art. 15)"
    DSR_RECTIFICATION = "dsr_rectification", "Rectification (GDPR Art. 16)"
    DSR_PORTABILITY = "dsr_portability", "Portability (GDPR Art. 20)"
    DSR_RESTRICTION = "dsr_restriction", "Restriction (GDPR Art. 18)"
    DSR_OBJECTION = "dsr_objection", "Objection (GDPR Art. 21)"
    SUBPROCESSOR_OBJECTION = "subprocessor_objection", "Objection to a subprocessor change"
    DOCUMENT_ACCESS = "document_access", "Access to a gated document"


class TicketStatus(models.TextChoices):
    AWAITING_VERIFICATION = "awaiting_verification", "Awaiting verification"
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    AWAITING_REQUESTER = "awaiting_requester", "Awaiting requester"
    FULFILLED = "fulfilled", "Fulfilled"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"
    CLOSED = "closed", "Closed"


# Reference prefix per kind: DPA-2026-000042. Kinds sharing a prefix share a counter.
KIND_PREFIX: dict[str, str] = {
    TicketKind.DPA: "DPA",
    TicketKind.BAA: "BAA",
    TicketKind.DSR_ERASURE: "DSR",
    TicketKind.DSR_ACCESS: "DSR",
    TicketKind.DSR_RECTIFICATION: "DSR",
    TicketKind.DSR_PORTABILITY: "DSR",
    TicketKind.DSR_RESTRICTION: "DSR",
    TicketKind.DSR_OBJECTION: "DSR",
    TicketKind.SUBPROCESSOR_OBJECTION: "OBJ",
    TicketKind.DOCUMENT_ACCESS: "DOC",
}

# Data-subject requests: identity is verified first (GDPR Art. 12(6)) and the
# deadline is calendar based (Art. 12(3)).
DATA_SUBJECT_KINDS: frozenset[str] = frozenset(
    {
        TicketKind.DSR_ERASURE,
        TicketKind.DSR_ACCESS,
        TicketKind.DSR_RECTIFICATION,
        TicketKind.DSR_PORTABILITY,
        TicketKind.DSR_RESTRICTION,
        TicketKind.DSR_OBJECTION,
    }
)

# Fulfilling these discloses or destroys personal data, so it is refused until
# the requester has proved control of the account's address.
VERIFIED_TO_FULFIL_KINDS: frozenset[str] = frozenset(
    {TicketKind.DSR_ERASURE, TicketKind.DSR_ACCESS, TicketKind.DSR_PORTABILITY}
)

# Kinds whose fulfilment is a document: a countersigned agreement.
DOCUMENT_KINDS: frozenset[str] = frozenset({TicketKind.DPA, TicketKind.BAA})


class TicketEventKind(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    VERIFICATION_REQUESTED = "verification_requested", "Verification requested"
    VERIFIED = "verified", "Identity verified"
    AGENT_CHECKED = "agent_checked", "Agent's authority checked"
    STATUS_CHANGED = "status_changed", "Status changed"
    ASSIGNED = "assigned", "Assigned"
    EXTENDED = "extended", "Deadline extended"
    MESSAGE = "message", "Message to requester"
    REQUESTER_REPLY = "requester_reply", "Reply from requester"
    ATTACHMENT_ADDED = "attachment_added", "Attachment added"
    LEGAL_HOLD = "legal_hold", "Legal hold changed"
    RETENTION_PURGE = "retention_purge", "Personal data purged"


# --- The workflow table -------------------------------------------------------

CHANGE_TICKET = "requests_app.change_ticket"
ADD_ATTACHMENT = "requests_app.add_ticketattachment"


@dataclass(frozen=True)
class Reason:
    """The text staff give with a move. It is kept in the history row and the
    move's event; when the move tells the requester, it is mailed and shown too."""

    required: bool = False
    label: str = "Reason"
    missing: str = ""  # the refusal when it is required and empty
    code: str = "reason_required"


@dataclass(frozen=True)
class Move:
    """One allowed status move, and how staff make it in the admin."""

    to: str
    button: str = ""  # the admin action's name; "" when no staff button makes it (a job or the requester does)
    label: str = ""
    help: str = ""
    permissions: tuple[str, ...] = (CHANGE_TICKET,)
    reason: Reason | None = Reason()  # None: the admin form asks for no text
    tells_requester: bool = False  # the event and its text show on the status page; the new state's mail is sent
    takes_file: bool = False  # the countersigned document or the response, as a PDF
    file_required_for: frozenset[str] = frozenset()  # kinds refused without the file
    identity_required_for: frozenset[str] = frozenset()  # kinds refused until the requester's identity is confirmed
    # Refused while the ticket was filed by someone acting for another person whose authority no handler checked.
    agent_check_required: bool = False


@dataclass(frozen=True)
class RequesterMail:
    template: str  # under templates/emails/
    subject: str


@dataclass(frozen=True)
class State:
    """What a status means: the time it stamps, where a ticket can go from it,
    what the requester is mailed on entering it and sees while it lasts."""

    stamp: str  # the Ticket column set when a ticket enters the state
    moves: tuple[Move, ...] = ()
    stamp_first_entry_only: bool = False
    active: bool = False  # the deadline runs; staff message and extend; identity can still be confirmed
    mail: RequesterMail | None = None  # sent on entry by a move that tells the requester
    requester_label: str = ""  # the status page's name for it ("" = the status's label)
    requester_notice: str = ""  # a line under the status on the status page
    requester_may_reply: bool = False
    on_identity_confirmed: str = ""  # where confirming the requester's identity moves the ticket
    on_requester_reply: str = ""  # where the requester's reply moves the ticket

    def move_to(self, status: str) -> Move | None:
        return next((move for move in self.moves if move.to == status), None)


_REJECT = Move(
    TicketStatus.REJECTED,
    button="reject",
    label="Reject",
    help="The reason is mailed to the requester; for data-subject requests the mail also names "
    "their right to complain to a supervisory authority.",
    reason=Reason(required=True, missing="Give the reason for the rejection; it is sent to the requester."),
    tells_requester=True,
)
_CLOSE = Move(TicketStatus.CLOSED, button="close", label="Close", reason=None)

STATES: dict[str, State] = {
    TicketStatus.AWAITING_VERIFICATION: State(
        stamp="verification_requested_at",
        active=True,
        requester_label="Waiting for your confirmation",
        on_identity_confirmed=TicketStatus.OPEN,
        moves=(
            Move(
                TicketStatus.OPEN,
                button="open",
                label="Open without link verification",
                help="Work starts while the requester's identity is not confirmed; say why. Erasure, access and "
                "portability can be fulfilled only once it is: through the link (resend it) or by recording "
                "how you verified it another way.",
                reason=Reason(
                    required=True,
                    label="Why work starts now",
                    missing="Say why work starts before the requester's identity is confirmed.",
                ),
            ),
            # Made by the expiry job when every link lapsed unused.
            Move(TicketStatus.EXPIRED, tells_requester=True),
        ),
    ),
    TicketStatus.OPEN: State(
        stamp="opened_at",
        active=True,
        requester_may_reply=True,
        moves=(
            Move(
                TicketStatus.IN_PROGRESS,
                button="acknowledge",
                label="Acknowledge (start work)",
                help="Moves the ticket to “In progress” and tells the requester work has started.",
                tells_requester=True,
            ),
            _REJECT,
        ),
    ),
    TicketStatus.IN_PROGRESS: State(
        stamp="acknowledged_at",
        stamp_first_entry_only=True,  # acknowledgment is a one-time fact
        active=True,
        mail=RequesterMail("ticket_in_progress", "We are working on your request"),
        requester_may_reply=True,
        moves=(
            Move(
                TicketStatus.AWAITING_REQUESTER,
                button="request_info",
                label="Request information",
                help="Moves the ticket to “Awaiting requester” and mails them your message.",
                reason=Reason(
                    required=True,
                    label="Message",
                    missing="Write what you need from the requester.",
                    code="message_required",
                ),
                tells_requester=True,
            ),
            Move(
                TicketStatus.FULFILLED,
                button="fulfil",
                label="Fulfil",
                help="The requester is mailed a link to their status page, where they can download the PDF.",
                permissions=(CHANGE_TICKET, ADD_ATTACHMENT),
                tells_requester=True,
                takes_file=True,
                file_required_for=DOCUMENT_KINDS,
                identity_required_for=VERIFIED_TO_FULFIL_KINDS,
                agent_check_required=True,
            ),
            _REJECT,
        ),
    ),
    TicketStatus.AWAITING_REQUESTER: State(
        stamp="info_requested_at",
        active=True,
        mail=RequesterMail("info_requested", "We need more information"),
        requester_label="Waiting for your answer",
        requester_notice="We have asked you for something; please answer below.",
        requester_may_reply=True,
        on_requester_reply=TicketStatus.IN_PROGRESS,
        moves=(
            Move(TicketStatus.IN_PROGRESS, button="resume", label="Resume work"),
            Move(TicketStatus.WITHDRAWN, button="withdraw", label="Record withdrawal", tells_requester=True),
        ),
    ),
    TicketStatus.FULFILLED: State(
        stamp="fulfilled_at", mail=RequesterMail("ticket_fulfilled", "Your request is complete"), moves=(_CLOSE,)
    ),
    TicketStatus.REJECTED: State(
        stamp="rejected_at", mail=RequesterMail("ticket_rejected", "Decision on your request"), moves=(_CLOSE,)
    ),
    TicketStatus.WITHDRAWN: State(
        stamp="withdrawn_at", mail=RequesterMail("ticket_withdrawn", "Your request was withdrawn"), moves=(_CLOSE,)
    ),
    TicketStatus.EXPIRED: State(
        stamp="expired_at",
        mail=RequesterMail("ticket_expired", "Your request was not confirmed"),
        requester_label="Not confirmed in time",
        requester_notice="The confirmation link was not used in time. You are welcome to send the request again.",
        moves=(_CLOSE,),
    ),
    TicketStatus.CLOSED: State(stamp="closed_at"),
}

# Views of the table for code that needs one aspect only.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    status: frozenset(move.to for move in state.moves) for status, state in STATES.items()
}
STATE_STAMP: dict[str, str] = {status: state.stamp for status, state in STATES.items()}
# States in which the deadline clock runs (the queue's "overdue" and "due soon").
ACTIVE_STATUSES: frozenset[str] = frozenset(status for status, state in STATES.items() if state.active)
# Each admin button makes one move, whichever state it is offered in.
MOVE_BY_BUTTON: dict[str, Move] = {
    move.button: move for state in STATES.values() for move in state.moves if move.button
}


def initial_status(kind: str) -> str:
    """Where a submitted ticket starts: data-subject requests first confirm who asks."""
    return TicketStatus.AWAITING_VERIFICATION if kind in DATA_SUBJECT_KINDS else TicketStatus.OPEN


def requester_label(status: str) -> str:
    """The status as the requester's status page names it."""
    return STATES[status].requester_label or TicketStatus(status).label
