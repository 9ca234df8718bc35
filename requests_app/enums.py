"""Kinds and states of tickets, and the one table of allowed status moves."""

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


# The only status moves a ticket can make. `ticket_transition` refuses any other.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.AWAITING_VERIFICATION: frozenset({TicketStatus.OPEN, TicketStatus.EXPIRED}),
    TicketStatus.OPEN: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.REJECTED}),
    TicketStatus.IN_PROGRESS: frozenset(
        {TicketStatus.AWAITING_REQUESTER, TicketStatus.FULFILLED, TicketStatus.REJECTED}
    ),
    TicketStatus.AWAITING_REQUESTER: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.WITHDRAWN}),
    TicketStatus.FULFILLED: frozenset({TicketStatus.CLOSED}),
    TicketStatus.REJECTED: frozenset({TicketStatus.CLOSED}),
    TicketStatus.WITHDRAWN: frozenset({TicketStatus.CLOSED}),
    TicketStatus.EXPIRED: frozenset({TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}

# States in which the deadline clock runs (the queue's "overdue" and "due soon").
ACTIVE_STATUSES: frozenset[str] = frozenset(
    {
        TicketStatus.AWAITING_VERIFICATION,
        TicketStatus.OPEN,
        TicketStatus.IN_PROGRESS,
        TicketStatus.AWAITING_REQUESTER,
    }
)

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
    STATUS_CHANGED = "status_changed", "Status changed"
    ASSIGNED = "assigned", "Assigned"
    EXTENDED = "extended", "Deadline extended"
    MESSAGE = "message", "Message to requester"
    REQUESTER_REPLY = "requester_reply", "Reply from requester"
    ATTACHMENT_ADDED = "attachment_added", "Attachment added"
    LEGAL_HOLD = "legal_hold", "Legal hold changed"
    RETENTION_PURGE = "retention_purge", "Personal data purged"
