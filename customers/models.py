"""Customers (the organizations that signed a DPA or BAA), their named
contacts, and the incident (breach) register with its notices.

Writes go through `customers.services`. Contacts never sign in: they confirm
their address through a single-use link (`core.tokens`, as subscribers do),
and only confirmed, not removed contacts receive notices. Link tokens are
never stored: a contact row keeps a nonce and the SHA-256 of the token.
"""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from core.history import TrackedQuerySet
from core.models import OutboxMail
from core.text import SingleLineCharField, SingleLineEmailField
from evidence.registry import ChainSpec

from .enums import AgreementKind, NoticeKind


class Customer(models.Model):
    """An organization that signed a DPA or BAA with the company. Its name is
    business data, not personal data; its contacts are kept apart."""

    name = SingleLineCharField(max_length=200, help_text="The legal entity, as on the agreement.")
    name_key = models.CharField(
        max_length=200, unique=True, editable=False, help_text="The name case-folded: one customer per name."
    )
    notes = models.TextField(blank=True)
    dpa_signed_at = models.DateTimeField(null=True, blank=True, help_text="When the DPA was countersigned.")
    baa_signed_at = models.DateTimeField(null=True, blank=True, help_text="When the BAA was countersigned.")
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the relationship ended; the contacts' data is erased CUSTOMER_CONTACT_RETENTION_DAYS later.",
    )

    history = HistoricalRecords()
    chain_spec = ChainSpec(history=True)
    objects = TrackedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_baa(self) -> bool:
        return self.baa_signed_at is not None


class CustomerAgreement(models.Model):
    """A fulfilled DPA or BAA ticket, linked to its customer: one row per ticket.

    The ticket lives in requests_app, a layer above; it is named by id and
    reference, and the unique ticket id makes linking idempotent."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="agreements")
    kind = models.CharField(max_length=10, choices=AgreementKind.choices)
    ticket_id = models.PositiveBigIntegerField(unique=True)
    ticket_reference = models.CharField(max_length=20)
    signed_at = models.DateTimeField(help_text="When the ticket was fulfilled with the countersigned copy.")
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    chain_spec = ChainSpec(time_field="signed_at", user_field="linked_by", action="agreement linked to customer")

    class Meta:
        ordering = ["-signed_at", "-id"]
        verbose_name = "agreement"
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=AgreementKind.values), name="agreement_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_reference} ({self.get_kind_display()})"


class Contact(models.Model):
    """A named person at a customer, with the roles they play. Receives
    notices once confirmed (double opt-in) and until removed:
    subprocessor notices go to legal and privacy contacts, incident notices to
    security and privacy contacts."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="contacts")
    name = SingleLineCharField(max_length=200)
    email = SingleLineEmailField(help_text="Stored lower-cased.")
    legal = models.BooleanField(default=False, help_text="Legal contact: receives subprocessor notices.")
    security = models.BooleanField(default=False, help_text="Security contact: receives incident notices.")
    privacy = models.BooleanField(
        default=False, help_text="Privacy contact: receives subprocessor and incident notices."
    )
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    personal_data_purged_at = models.DateTimeField(null=True, blank=True)

    # Pending confirmation link (single use): cleared once used.
    confirm_nonce = models.CharField(max_length=64, blank=True)
    confirm_token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    confirm_sent_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["confirm_nonce", "confirm_token_hash"])
    chain_spec = ChainSpec(history=True, personal=("name", "email"))
    objects = TrackedQuerySet.as_manager()

    class Meta:
        ordering = ["customer__name", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "email"],
                condition=models.Q(removed_at__isnull=True),
                name="contact_email_once_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"Contact {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.removed_at is None

    @property
    def roles(self) -> list[str]:
        return [role for role in ("legal", "security", "privacy") if getattr(self, role)]


class Incident(models.Model):
    """One entry of the breach register (GDPR Art. 33(5): every breach is
    documented, with its facts, effects and the remedial action taken)."""

    reference = models.CharField(max_length=20, unique=True, editable=False)
    title = SingleLineCharField(max_length=200)
    aware_at = models.DateTimeField(help_text="When the company became aware of the incident: the clocks start here.")
    description = models.TextField(help_text="What happened.")
    subject_categories = models.TextField(blank=True, help_text="Categories of data subjects concerned.")
    subjects_approx = models.PositiveIntegerField(
        null=True, blank=True, help_text="Approximate number of data subjects."
    )
    record_categories = models.TextField(blank=True, help_text="Categories of personal data records concerned.")
    records_approx = models.PositiveIntegerField(null=True, blank=True, help_text="Approximate number of records.")
    consequences = models.TextField(blank=True, help_text="Likely consequences.")
    measures = models.TextField(blank=True, help_text="Measures taken or proposed.")
    company_is_controller = models.BooleanField(
        default=False, help_text="The company is controller for the data concerned (the authority must be told)."
    )
    processor_notice_hours = models.PositiveIntegerField(
        help_text="Hours to tell the controllers, read from the page when the incident was recorded."
    )
    processor_notice_source = models.CharField(
        max_length=200, help_text="Where those hours come from: the page's line, or the default."
    )
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    first_notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the first notices to affected customers' contacts were written."
    )

    public_update = models.ForeignKey(
        "compliance.Update",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        limit_choices_to={"category": "incident"},
        help_text="The update (category incident) that tells the public about it, once editors wrote it; "
        "it is published with its own four-eyes approval.",
    )
    history = HistoricalRecords()
    chain_spec = ChainSpec(history=True)
    objects = TrackedQuerySet.as_manager()

    class Meta:
        ordering = ["-aware_at", "-id"]
        permissions = [
            ("notify_incident", "Can send incident notices to affected customers' contacts"),
            ("export_incident", "Can export the incident register"),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"


class IncidentCustomer(models.Model):
    """A customer affected by an incident. Only ever added: a customer found
    not to be affected is said so in a follow-up, the record stays."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="affected")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="incidents")
    added_at = models.DateTimeField()
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    chain_spec = ChainSpec(time_field="added_at", user_field="added_by", action="customer marked affected")

    class Meta:
        ordering = ["incident", "customer__name"]
        verbose_name = "affected customer"
        constraints = [
            models.UniqueConstraint(fields=["incident", "customer"], name="incident_customer_once"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} affected by incident {self.incident_id}"


class IncidentMessage(models.Model):
    """One round of notices about an incident: the first notice (round 1) or
    a follow-up, with the text staff wrote for it."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="messages")
    round = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=NoticeKind.choices)
    body = models.TextField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    chain_spec = ChainSpec(time_field="created_at", user_field="created_by", action="incident notice written")

    class Meta:
        ordering = ["incident", "round"]
        verbose_name = "incident notice text"
        constraints = [
            models.UniqueConstraint(fields=["incident", "round"], name="incident_message_round_once"),
            models.CheckConstraint(condition=models.Q(kind__in=NoticeKind.values), name="incident_message_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"Incident {self.incident_id} round {self.round}"


class IncidentNotice(models.Model):
    """One round of an incident told to one contact: at most one per pair
    (a unique constraint). The mail's `sent_at` is when it left; a follow-up
    links to the contact's first notice."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="notices")
    message = models.ForeignKey(IncidentMessage, on_delete=models.PROTECT, related_name="notices")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="incident_notices")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="incident_notices")
    mail = models.OneToOneField(OutboxMail, on_delete=models.PROTECT, related_name="+")
    follow_up_of = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="follow_ups")
    created_at = models.DateTimeField()

    chain_spec = ChainSpec(time_field="created_at", action="incident notice queued")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "incident notice"
        constraints = [
            models.UniqueConstraint(fields=["message", "contact"], name="incident_notice_once_per_contact"),
        ]

    def __str__(self) -> str:
        return f"Notice {self.pk} of incident {self.incident_id}"
