"""Tickets for DPA, BAA and data-subject requests, their audit trail and mail.

Writes go through `requests_app.services`; nothing here runs workflow. Personal
data of requesters lives only in the fields `PERSONAL_FIELDS` names (and in the
mail rows and files of the ticket) so that the retention purge can find all of it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models.functions import Upper
from simple_history.manager import HistoricalQuerySet
from simple_history.models import HistoricalRecords

from core.history import HistoryBypassError, TrackedQuerySet
from core.models import OutboxMail
from core.storage import private_storage
from core.text import SingleLineCharField, SingleLineEmailField
from evidence.registry import ChainSpec

from .enums import ACTIVE_STATUSES, DATA_SUBJECT_KINDS, TicketEventKind, TicketKind, TicketStatus


def _in_choices(field: str, choices: type[models.TextChoices]) -> models.Q:
    return models.Q(**{f"{field}__in": choices.values})


_history_rewrite_allowed: ContextVar[bool] = ContextVar("ticket_history_rewrite_allowed", default=False)


@contextmanager
def ticket_history_rewrite() -> Iterator[None]:
    """Let the code inside rewrite ticket history rows. Only the retention
    purge uses it: history is otherwise append-only."""
    token = _history_rewrite_allowed.set(True)
    try:
        yield
    finally:
        _history_rewrite_allowed.reset(token)


class TicketHistoryQuerySet(HistoricalQuerySet):
    """`Ticket.history`: refuses to change or delete history rows, except
    inside `ticket_history_rewrite()` (the retention purge)."""

    def _guard(self, name: str) -> None:
        if not _history_rewrite_allowed.get():
            raise HistoryBypassError(
                f"Ticket.history.{name}() would rewrite the ticket's history; only the retention purge may."
            )

    def update(self, **kwargs: Any) -> int:
        self._guard("update")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._guard("delete")
        return super().delete()


class TicketSequence(models.Model):
    """Last reference number handed out per prefix and year (DPA-2026-000042).

    The row is locked while a ticket is created, so numbers are unique and,
    since a rolled-back submission rolls the counter back too, without gaps."""

    prefix = models.CharField(max_length=10)
    year = models.PositiveIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="ticketsequence_prefix_year_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last_value}"


class Ticket(models.Model):
    """One request from a customer or data subject, worked through a workflow."""

    reference = models.CharField(max_length=20, unique=True, editable=False)
    kind = models.CharField(max_length=40, choices=TicketKind.choices)
    status = models.CharField(max_length=30, choices=TicketStatus.choices)

    # Requester personal data: purged by the retention job (see PERSONAL_FIELDS).
    requester_name = SingleLineCharField(max_length=200)
    requester_email = SingleLineEmailField()
    account_email = SingleLineEmailField(
        blank=True,
        help_text="Address of the account the request concerns; identity is verified through it.",
    )
    legal_entity = SingleLineCharField(max_length=200, blank=True)
    details = models.TextField(blank=True)
    form_data = models.JSONField(default=dict, blank=True, help_text="Answers specific to the kind.")
    submitted_ip = models.GenericIPAddressField(null=True, blank=True)

    received_at = models.DateTimeField()
    due_at = models.DateTimeField()
    original_due_at = models.DateTimeField()
    extended_at = models.DateTimeField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)

    verification_requested_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    acting_for_another = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Filed by someone acting for the person concerned (an authorised agent, parent, guardian or "
        "representative); what they said authorises them is in the form answers.",
    )
    agent_checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When a handler recorded the agent's authority as checked."
    )

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    legal_hold = models.BooleanField(default=False, help_text="Kept out of the retention purge while set.")

    # When the ticket last entered each state (first entry for acknowledged_at).
    opened_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    info_requested_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField()

    # The requester's private status link is HMAC(SECRET_KEY, nonce); only the
    # SHA-256 of the link token is stored, so the database alone opens nothing.
    status_link_nonce = models.CharField(max_length=64, unique=True, editable=False)
    status_token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Sent with the form: a retried POST finds the ticket it already made.
    submission_token = models.CharField(max_length=64, unique=True, editable=False)
    personal_data_purged_at = models.DateTimeField(null=True, blank=True)

    # Mails about this ticket; also `OutboxMail.objects.filter(ticket=...)`.
    mails = GenericRelation(
        OutboxMail, content_type_field="about_type", object_id_field="about_id", related_query_name="ticket"
    )

    objects = TrackedQuerySet.as_manager()
    history = HistoricalRecords(
        excluded_fields=["status_link_nonce", "status_token_hash", "submission_token"],
        historical_queryset=TicketHistoryQuerySet,
    )

    PERSONAL_FIELDS: tuple[str, ...] = (
        "requester_name",
        "requester_email",
        "account_email",
        "legal_entity",
        "details",
        "form_data",
        "submitted_ip",
    )

    # Every version is chained; the requester's fields, and the texts staff
    # write about them (extension and change reasons), as salted commitments.
    chain_spec = ChainSpec(history=True, personal=(*PERSONAL_FIELDS, "extension_reason", "history_change_reason"))

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.CheckConstraint(condition=_in_choices("kind", TicketKind), name="ticket_kind_valid"),
            models.CheckConstraint(condition=_in_choices("status", TicketStatus), name="ticket_status_valid"),
            models.CheckConstraint(
                condition=models.Q(original_due_at__gte=models.F("received_at")),
                name="ticket_due_after_receipt",
            ),
            models.CheckConstraint(
                condition=models.Q(due_at__gte=models.F("original_due_at")),
                name="ticket_due_not_before_original",
            ),
            # An extension is recorded with its reason, or not at all.
            models.CheckConstraint(
                condition=(
                    models.Q(extended_at__isnull=True, extension_reason="")
                    | (models.Q(extended_at__isnull=False) & ~models.Q(extension_reason=""))
                ),
                name="ticket_extension_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=TicketStatus.CLOSED) | models.Q(closed_at__isnull=False),
                name="ticket_closed_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="ticket_status_due_idx"),
            models.Index(fields=["kind", "status"], name="ticket_kind_status_idx"),
            models.Index(fields=["due_at"], name="ticket_due_idx"),
            models.Index(fields=["verified_at"], name="ticket_verified_idx"),
            models.Index(fields=["received_at"], name="ticket_received_idx"),
            models.Index(fields=["closed_at"], name="ticket_closed_idx"),
            models.Index(fields=["requester_email"], name="ticket_requester_email_idx"),
            models.Index(fields=["account_email"], name="ticket_account_email_idx"),
            # The queue (admin): each filter in due order, and the whole-value searches (iexact).
            models.Index(fields=["kind", "due_at"], name="ticket_kind_due_idx"),
            models.Index(fields=["assignee", "due_at"], name="ticket_assignee_due_idx"),
            models.Index(Upper("reference"), name="ticket_reference_upper_idx"),
            models.Index(Upper("requester_email"), name="ticket_req_email_upper_idx"),
            models.Index(Upper("account_email"), name="ticket_acct_email_upper_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_data_subject_request(self) -> bool:
        return self.kind in DATA_SUBJECT_KINDS

    @property
    def identity_pending(self) -> bool:
        """A data-subject request still being worked whose requester's identity
        is not confirmed yet (by the link, or by staff another way)."""
        return self.is_data_subject_request and self.verified_at is None and self.status in ACTIVE_STATUSES

    @property
    def agent_review_pending(self) -> bool:
        """Filed by someone acting for another person, still worked, and no
        handler has recorded their authority as checked yet."""
        return self.acting_for_another and self.agent_checked_at is None and self.status in ACTIVE_STATUSES

    @property
    def verification_address(self) -> str:
        """Where the identity check goes: the account's address when given (EDPB
        Guidelines 01/2022: use a channel that already exists)."""
        return self.account_email or self.requester_email

    @property
    def answer_address(self) -> str:
        """Where the requester's mail goes (acknowledgment with the status link,
        questions, messages, outcome). For a data-subject request only the
        account's address, the one that received the verification link: the
        answer reveals personal data, so it goes to the channel the company
        already knows, however identity was confirmed. Empty once purged."""
        return self.verification_address if self.is_data_subject_request else self.requester_email


class TicketAudit(Ticket):
    """Tickets as an auditor reads them (admin: `admin_audit`): reference,
    kind, times against the deadline, who acted, how identity was verified and
    when the requester's data was purged; never the requester's data itself.
    A proxy: no table of its own, its own view permission."""

    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = "ticket (audit view)"
        verbose_name_plural = "tickets (audit view)"


class TicketEvent(models.Model):
    """An entry of the ticket's audit trail; append-only."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the requester acted.",
    )
    kind = models.CharField(max_length=30, choices=TicketEventKind.choices)
    from_status = models.CharField(max_length=30, choices=TicketStatus.choices, blank=True)
    to_status = models.CharField(max_length=30, choices=TicketStatus.choices, blank=True)
    message = models.TextField(blank=True)
    visible_to_requester = models.BooleanField(default=False)
    created_at = models.DateTimeField(db_index=True)

    # The message may be the requester's own words or name them.
    chain_spec = ChainSpec(time_field="created_at", user_field="actor", action="ticket event", personal=("message",))

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=_in_choices("kind", TicketEventKind), name="ticketevent_kind_valid"),
        ]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticketevent_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.get_kind_display()}"


class TicketNote(models.Model):
    """Internal note by staff. Never shown to the requester."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField()

    chain_spec = ChainSpec(time_field="created_at", user_field="author", action="internal note", personal=("body",))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "internal note"

    def __str__(self) -> str:
        return f"Note {self.pk} on ticket {self.ticket_id}"


def attachment_path(instance: "TicketAttachment", filename: str) -> str:
    # The stored name is random; the requester's or staff's file name is kept
    # (sanitized) in `original_name` and only used for downloads.
    import uuid

    return f"tickets/{instance.ticket_id}/{uuid.uuid4().hex}.pdf"


class TicketAttachment(models.Model):
    """A file on a ticket, e.g. the countersigned agreement; stored privately."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(storage=private_storage, upload_to=attachment_path, max_length=200)
    original_name = SingleLineCharField(max_length=120)
    content_type = models.CharField(max_length=80)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    visible_to_requester = models.BooleanField(default=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    purged_at = models.DateTimeField(null=True, blank=True)

    # The purge blanks the file and its name later: the versions are chained.
    history = HistoricalRecords()
    chain_spec = ChainSpec(history=True, personal=("original_name",))

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class VerificationToken(models.Model):
    """A single-use, expiring identity check sent to the account's address.

    The link token is HMAC(SECRET_KEY, nonce); only its SHA-256 is stored."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="verification_tokens")
    nonce = models.CharField(max_length=64, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["expires_at"], name="verificationtoken_expires_idx")]

    def __str__(self) -> str:
        return f"Verification {self.pk} for ticket {self.ticket_id}"


class ExtraHoliday(models.Model):
    """A day off that the country calendar lacks (company closure, local holiday)."""

    date = models.DateField(unique=True)
    description = SingleLineCharField(max_length=120)

    class Meta:
        ordering = ["date"]
        verbose_name = "extra holiday"

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.description}"
