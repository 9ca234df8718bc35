"""Access to gated documents: the NDA text, its acceptance, grants and downloads.

A request for access is a ticket (kind `document_access`) in the requests
workflow; fulfilling it creates the grant, rejecting it denies access. The
private link of a grant is HMAC(SECRET_KEY, nonce): only the nonce and the
SHA-256 of the link token are stored, so the database alone opens nothing.
"""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from compliance.models import Document
from core.text import SingleLineCharField
from evidence.registry import ChainSpec
from requests_app.models import Ticket


class NdaVersion(models.Model):
    """A version of the click-through non-disclosure agreement.

    An editor proposes a version; it is offered to requesters only once a
    second person has approved its exact text (`NdaApproval`). Requesters
    accept the active one; earlier versions stay as the record of what was
    accepted. The text of a version is never changed: a change is a new version.
    """

    label = SingleLineCharField(max_length=40, unique=True, help_text="e.g. “2026-06”.")
    text = models.TextField(help_text="The full text shown to requesters. Never edit it once accepted: add a version.")
    text_sha256 = models.CharField(
        max_length=64, editable=False, help_text="SHA-256 of the text as proposed; the approver approves this."
    )
    reason = models.TextField(blank=True, help_text="What changed and why, as the editor wrote it.")
    active = models.BooleanField(default=False, help_text="The version new requests accept; one at a time.")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "NDA version"
        permissions = [("approve_ndaversion", "Can approve an NDA version (second person)")]
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=models.Q(active=True), name="one_active_nda"),
        ]

    def __str__(self) -> str:
        return f"NDA {self.label}"


class NdaApproval(models.Model):
    """A second person's approval of one NDA version's exact text: the record
    that lets it be offered. Written once, chained into the evidence ledger
    like a publication, never changed."""

    chain_spec = ChainSpec(time_field="approved_at", user_field="approved_by", action="approved NDA text")

    nda_version = models.OneToOneField(NdaVersion, on_delete=models.PROTECT, related_name="approval")
    text_sha256 = models.CharField(max_length=64, editable=False, help_text="SHA-256 of the text approved.")
    summary = models.TextField(help_text="The editor's reason for the version, as approved.")
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField()

    class Meta:
        ordering = ["-approved_at", "-id"]
        verbose_name = "NDA approval"
        default_permissions = ("view",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(proposed_by__isnull=True) | ~models.Q(proposed_by=models.F("approved_by")),
                name="nda_approval_second_person",
            ),
        ]

    def __str__(self) -> str:
        return f"NDA version {self.nda_version_id}, text SHA-256 {self.text_sha256[:16]}…"


class NdaAcceptance(models.Model):
    """Who accepted which NDA text, when, from where, for which document."""

    ticket = models.OneToOneField(Ticket, on_delete=models.PROTECT, related_name="nda_acceptance")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    nda_version = models.ForeignKey(NdaVersion, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    chain_spec = ChainSpec(time_field="accepted_at", action="accepted NDA", personal=("ip", "user_agent"))

    class Meta:
        ordering = ["-accepted_at", "-id"]
        verbose_name = "NDA acceptance"

    def __str__(self) -> str:
        return f"{self.nda_version} accepted on ticket {self.ticket_id}"


class DocumentGrant(models.Model):
    """Time-limited access of one requester to one gated document."""

    ticket = models.OneToOneField(Ticket, on_delete=models.PROTECT, related_name="document_grant")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    token_nonce = models.CharField(max_length=64, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    granted_at = models.DateTimeField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    auto_approved = models.BooleanField(default=False, help_text="Approved by the allowed-domain rule.")
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    revoke_reason = models.TextField(blank=True)

    # Revocation changes the row: its versions are chained. The reason may name the requester.
    history = HistoricalRecords(excluded_fields=["token_nonce", "token_hash"])
    chain_spec = ChainSpec(history=True, personal=("revoke_reason",))

    class Meta:
        ordering = ["-granted_at", "-id"]
        verbose_name = "document access grant"
        permissions = [("revoke_documentgrant", "Can revoke document access")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("granted_at")), name="grant_expires_after_grant"
            ),
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True, revoke_reason="")
                | (models.Q(revoked_at__isnull=False) & ~models.Q(revoke_reason="")),
                name="grant_revocation_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["document", "expires_at"], name="grant_document_expires_idx")]

    def __str__(self) -> str:
        return f"Grant {self.pk} ({self.document_id})"


class DocumentDownload(models.Model):
    """One download of a gated document through a grant: the audit trail."""

    grant = models.ForeignKey(DocumentGrant, on_delete=models.PROTECT, related_name="downloads")
    downloaded_at = models.DateTimeField()
    sha256 = models.CharField(max_length=64, help_text="The file served.")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    chain_spec = ChainSpec(time_field="downloaded_at", action="downloaded", personal=("ip", "user_agent"))

    class Meta:
        ordering = ["-downloaded_at", "-id"]
        verbose_name = "document download"
        indexes = [models.Index(fields=["grant", "downloaded_at"], name="download_grant_idx")]

    def __str__(self) -> str:
        return f"Download {self.pk} through grant {self.grant_id}"
