"""Subscribers to update notices, the notices sent and the objections received.

Writes go through `subscriptions.services`. Link tokens are never stored: a
subscriber row keeps a nonce and the SHA-256 of the token made from it with
SECRET_KEY (see core.tokens), so the database alone opens nothing.
"""

from django.db import models
from simple_history.models import HistoricalRecords

from compliance.enums import UpdateCategory
from compliance.models import Publication, Update
from core.models import OutboxMail
from core.text import SingleLineCharField, SingleLineEmailField
from customers.models import Contact, Customer
from evidence.registry import ChainSpec
from requests_app.models import Ticket

from .enums import SubscriptionScope


def all_update_categories() -> list[str]:
    """Subscribers hear of updates in every category unless they chose fewer."""
    return list(UpdateCategory.values)


class Subscriber(models.Model):
    """An address that asked for notices. It receives them only once it has
    confirmed (double opt-in) and until it unsubscribes."""

    email = SingleLineEmailField(unique=True, help_text="Stored lower-cased.")
    scope = models.CharField(max_length=20, choices=SubscriptionScope.choices, default=SubscriptionScope.ALL)
    requested_scope = models.CharField(
        max_length=20,
        choices=SubscriptionScope.choices,
        default=SubscriptionScope.ALL,
        help_text="The scope asked for in the latest request; it applies once confirmed.",
    )
    update_categories = models.JSONField(
        default=all_update_categories,
        blank=True,
        help_text="The categories of updates mailed to this address (with the scope “all updates”).",
    )
    requested_update_categories = models.JSONField(
        default=all_update_categories,
        blank=True,
        help_text="The categories asked for in the latest request; they apply once confirmed.",
    )
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    # Pending confirmation link (single use): cleared once used.
    confirm_nonce = models.CharField(max_length=64, blank=True)
    confirm_token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    confirm_sent_at = models.DateTimeField(null=True, blank=True)
    # The unsubscribe link carried by every mail; it keeps working.
    unsubscribe_nonce = models.CharField(max_length=64)
    unsubscribe_token_hash = models.CharField(max_length=64, unique=True)

    # Sign-up, confirmation, scope changes and unsubscribing are versions of the
    # row, chained; the address as a salted commitment (the purge erases it).
    history = HistoricalRecords(
        excluded_fields=["confirm_nonce", "confirm_token_hash", "unsubscribe_nonce", "unsubscribe_token_hash"]
    )
    chain_spec = ChainSpec(history=True, personal=("email",))

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope__in=SubscriptionScope.values), name="subscriber_scope_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(requested_scope__in=SubscriptionScope.values),
                name="subscriber_requested_scope_valid",
            ),
        ]
        indexes = [models.Index(fields=["confirmed_at", "unsubscribed_at"], name="subscriber_active_idx")]

    def __str__(self) -> str:
        return f"Subscriber {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class SubprocessorNotice(models.Model):
    """One publication announced to one subscriber: at most one per pair.

    Subprocessor-only subscribers get one when the publication adds, removes
    or changes a subprocessor; all-updates subscribers for every publication."""

    publication = models.ForeignKey(Publication, on_delete=models.PROTECT, related_name="notices")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, related_name="notices")
    mail = models.OneToOneField(OutboxMail, on_delete=models.PROTECT, related_name="+")
    subprocessor_change = models.BooleanField(help_text="Whether the notice announced subprocessor changes.")
    created_at = models.DateTimeField()

    chain_spec = ChainSpec(time_field="created_at", action="notice sent")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "notice"
        constraints = [
            models.UniqueConstraint(fields=["publication", "subscriber"], name="notice_once_per_subscriber"),
        ]

    def __str__(self) -> str:
        return f"Notice of version {self.publication_id} to subscriber {self.subscriber_id}"


class ContactNotice(models.Model):
    """A subprocessor change announced to one customer contact (a confirmed
    legal or privacy contact): at most one per publication and contact."""

    publication = models.ForeignKey(Publication, on_delete=models.PROTECT, related_name="contact_notices")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="publication_notices")
    mail = models.OneToOneField(OutboxMail, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    chain_spec = ChainSpec(time_field="created_at", action="notice sent to customer contact")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "notice to a customer contact"
        constraints = [
            models.UniqueConstraint(fields=["publication", "contact"], name="contact_notice_once_per_contact"),
        ]

    def __str__(self) -> str:
        return f"Notice of version {self.publication_id} to contact {self.contact_id}"


class UpdateNotice(models.Model):
    """One published update mailed to one subscriber: at most one per pair,
    however often the update is corrected or its event re-driven."""

    update = models.ForeignKey(Update, on_delete=models.PROTECT, related_name="notices")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, related_name="update_notices")
    mail = models.OneToOneField(OutboxMail, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=20, help_text="The update's category when it was mailed.")
    created_at = models.DateTimeField()

    chain_spec = ChainSpec(time_field="created_at", action="update notice sent")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "update notice"
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["update", "subscriber"], name="update_notice_once_per_subscriber"),
        ]

    def __str__(self) -> str:
        return f"Notice of update {self.update_id} to subscriber {self.subscriber_id}"


class SubprocessorObjection(models.Model):
    """Links an objection ticket to the publication and subprocessor it is about;
    the ticket itself carries the requester's details and the workflow."""

    publication = models.ForeignKey(Publication, on_delete=models.PROTECT, related_name="objections")
    ticket = models.OneToOneField(Ticket, on_delete=models.PROTECT, related_name="subprocessor_objection")
    subprocessor_slug = models.SlugField(max_length=80)
    subprocessor_name = SingleLineCharField(max_length=120)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subprocessor_objections",
        help_text="The customer, when the objection came from one of its confirmed contacts.",
    )
    created_at = models.DateTimeField()

    chain_spec = ChainSpec(time_field="created_at", action="objection received")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "objection"
        indexes = [models.Index(fields=["publication", "subprocessor_slug"], name="objection_pub_sub_idx")]

    def __str__(self) -> str:
        return f"Objection {self.ticket_id} to {self.subprocessor_name}"


class PublicationNotices(Publication):
    """Publications seen from the notices side (admin: notices sent and
    objections received per version). A proxy: no table of its own."""

    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = "notices and objections by version"
        verbose_name_plural = "notices and objections by version"
