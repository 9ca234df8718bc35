"""Content of the Security & Compliance page.

Every visible line of the page comes from these rows. Each model keeps a full
change history (simple-history) with the acting user and the reason; writes go
through `compliance.services`. Rows carry a stable `slug` so that snapshots of
the page can be compared item by item across versions.
"""

from datetime import datetime
from typing import Any, ClassVar, NoReturn

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.history import TrackedQuerySet
from core.storage import private_storage
from core.text import SingleLineCharField, SingleLineEmailField
from evidence.registry import ChainSpec

from .document_files import document_fingerprint, validate_document_file
from .enums import (
    CertificationStatus,
    ControlStatus,
    DocumentVisibility,
    PublicationRequestStatus,
    SectionKey,
    UpdateCategory,
)


class TrackedModel(models.Model):
    """Page content: bulk writes that skip history are refused, and every
    version (simple-history row) is chained into the evidence ledger."""

    objects = TrackedQuerySet.as_manager()
    chain_spec = ChainSpec(history=True)
    # Declared for the type checker only: each concrete model sets `history = HistoricalRecords()`.
    history: ClassVar[Any]

    class Meta:
        abstract = True


class OrderedContent(TrackedModel):
    """Fields shared by the page's list items: a stable key, an order, and a
    switch to retire an item without deleting its history."""

    slug = models.SlugField(
        max_length=80,
        unique=True,
        help_text="Stable identifier used in the JSON snapshot and in diffs. Lowercase, hyphens.",
    )
    position = models.PositiveIntegerField(default=100, help_text="Items are shown in ascending order.")
    is_active = models.BooleanField(
        "shown on the page",
        default=True,
        help_text="Untick to retire the item; its history is kept.",
    )

    class Meta:
        abstract = True
        ordering = ["position", "id"]


class Organization(TrackedModel):
    """The company the page is about. There is exactly one row."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    name = SingleLineCharField(max_length=120, help_text="Short name, e.g. “Coaxiom”.")
    legal_name = SingleLineCharField(max_length=200, help_text="Legal entity, e.g. “Coaxiom LLC”.")
    page_title = SingleLineCharField(max_length=120, default="Security & Compliance")
    intro = models.TextField(help_text="Opening paragraph of the page.")
    website = SingleLineCharField(max_length=200, blank=True, help_text="Shown as text, e.g. “coaxiom.io”.")
    contact_email = SingleLineEmailField(help_text="General security and compliance contact.")
    security_email = SingleLineEmailField(help_text="Where vulnerability reports go (security.txt Contact).")
    preferred_languages = SingleLineCharField(
        max_length=60, default="en", help_text="Comma-separated language tags, e.g. “en, de”."
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "organization"
        verbose_name_plural = "organization"
        constraints = [
            models.CheckConstraint(condition=models.Q(singleton=True), name="organization_singleton"),
        ]

    def __str__(self) -> str:
        return self.name


class Section(TrackedModel):
    """A section of the page: its title, introduction and place in the order."""

    key = models.CharField(max_length=40, choices=SectionKey.choices, unique=True)
    title = SingleLineCharField(max_length=120)
    intro = models.TextField(blank=True, help_text="Paragraph under the section heading.")
    position = models.PositiveIntegerField(default=100)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class Certification(OrderedContent):
    """A certification, attestation or agreement, with its real-world status."""

    name = SingleLineCharField(max_length=120, help_text="e.g. “SOC 2 Type I”.")
    status = models.CharField(max_length=30, choices=CertificationStatus.choices, default=CertificationStatus.PLANNED)
    target = SingleLineCharField(max_length=120, blank=True, help_text="Target or timing as text, e.g. “Q4 2026”.")
    description = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta(OrderedContent.Meta):
        pass

    def __str__(self) -> str:
        return self.name


class Control(OrderedContent):
    """A line in a list section (data security, access controls, incident
    response, vulnerability disclosure), optionally under a sub-heading."""

    section = models.ForeignKey(
        Section,
        on_delete=models.PROTECT,
        related_name="controls",
        limit_choices_to={
            "key__in": [
                SectionKey.DATA_SECURITY,
                SectionKey.ACCESS_CONTROLS,
                SectionKey.INCIDENT_RESPONSE,
                SectionKey.VULNERABILITY_DISCLOSURE,
            ]
        },
    )
    group = SingleLineCharField(max_length=120, blank=True, help_text="Optional sub-heading, e.g. “Data in Transit”.")
    title = SingleLineCharField(max_length=200)
    body = models.TextField(blank=True, help_text="Shown after the title, separated by a dash.")
    status = models.CharField(max_length=20, choices=ControlStatus.choices, default=ControlStatus.IN_PLACE)
    history = HistoricalRecords()

    class Meta(OrderedContent.Meta):
        indexes = [models.Index(fields=["section", "position"])]

    def __str__(self) -> str:
        return self.title


class Subprocessor(OrderedContent):
    """An infrastructure provider that processes data on the company's behalf."""

    name = SingleLineCharField(max_length=120)
    purpose = SingleLineCharField(max_length=300)
    certifications = SingleLineCharField(
        max_length=300, blank=True, help_text="Comma-separated, e.g. “SOC 2 Type II, ISO 27001”."
    )
    location = SingleLineCharField(max_length=120, blank=True, help_text="Where data is processed.")
    history = HistoricalRecords()

    class Meta(OrderedContent.Meta):
        pass

    def __str__(self) -> str:
        return self.name

    @property
    def certification_list(self) -> list[str]:
        return [c.strip() for c in self.certifications.split(",") if c.strip()]


class DataHandlingRow(OrderedContent):
    """A row of the data handling table: a category and what is (not) collected."""

    category = SingleLineCharField(max_length=120)
    description = models.TextField()
    history = HistoricalRecords()

    class Meta(OrderedContent.Meta):
        verbose_name = "data handling row"

    def __str__(self) -> str:
        return self.category


class GdprFact(OrderedContent):
    """A labelled statement in the GDPR section, e.g. “Legal Basis”."""

    label = SingleLineCharField(max_length=120)
    body = models.TextField()
    history = HistoricalRecords()

    class Meta(OrderedContent.Meta):
        verbose_name = "GDPR fact"

    def __str__(self) -> str:
        return self.label


class ContactRoute(OrderedContent):
    """Where to send which kind of inquiry."""

    label = SingleLineCharField(max_length=120, help_text="e.g. “Privacy & legal”.")
    email = SingleLineEmailField()
    topics = SingleLineCharField(max_length=300, help_text="What to send there, e.g. “DPA requests, GDPR inquiries”.")
    history = HistoricalRecords()

    class Meta(OrderedContent.Meta):
        pass

    def __str__(self) -> str:
        return self.label


def document_upload_path(instance: "Document", filename: str) -> str:
    # A new random name for every upload: earlier files stay on disk, so the
    # file a publication listed can still be served after a replacement.
    import uuid

    return f"documents/{uuid.uuid4().hex}.pdf"


class Document(OrderedContent):
    """A report or agreement offered on the page (SOC 2 report, pen-test summary,
    DPA template): public ones are downloaded by anyone, gated ones after an
    access request. The file lives under PRIVATE_MEDIA_ROOT and has no URL;
    views serve it only for the version listed by the live publication."""

    title = SingleLineCharField(max_length=200)
    description = models.TextField(blank=True)
    visibility = models.CharField(
        max_length=10,
        choices=DocumentVisibility.choices,
        default=DocumentVisibility.GATED,
    )
    file = models.FileField(
        storage=private_storage,
        upload_to=document_upload_path,
        max_length=200,
        validators=[validate_document_file],
        help_text="PDF only. Stored privately; downloads go through the page's links.",
    )
    sha256 = models.CharField(max_length=64, editable=False, blank=True)
    size = models.PositiveBigIntegerField(editable=False, default=0)
    history = HistoricalRecords()

    class Meta(OrderedContent.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(visibility__in=DocumentVisibility.values),
                name="document_visibility_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        # Fingerprint a newly uploaded file: snapshots name the file by hash, so
        # a download serves exactly the version a publication listed.
        if self.file and not getattr(self.file, "_committed", True):
            self.sha256, self.size = document_fingerprint(self.file)


# Models whose rows make up the page, in the order the admin lists them.
CONTENT_MODELS: tuple[type[TrackedModel], ...] = (
    Organization,
    Section,
    Certification,
    Control,
    Subprocessor,
    DataHandlingRow,
    GdprFact,
    ContactRoute,
    Document,
)


# --- Publication -------------------------------------------------------------


class PublicationImmutableError(TypeError):
    """Raised by any attempt to change or delete a publication once written."""


class InsertOnlyQuerySet(models.QuerySet):
    """Records written once and never changed (publications, published
    updates): what the public saw, and the audit chain over it, depend on that."""

    def _refuse(self, name: str) -> NoReturn:
        raise PublicationImmutableError(
            f"{self.model.__name__}.objects.{name}(): {self.model._meta.verbose_name_plural} are never changed."
        )

    def update(self, **kwargs: Any) -> NoReturn:
        self._refuse("update")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse("bulk_update")

    def delete(self) -> NoReturn:
        self._refuse("delete")


class PublicationQuerySet(InsertOnlyQuerySet):
    """Publications are written once and never changed: the page as it stood
    on any date, and the audit chain over it, depend on that."""

    def in_effect(self, at: datetime | None = None) -> "PublicationQuerySet":
        return self.filter(effective_at__lte=at if at is not None else timezone.now())

    def live(self, at: datetime | None = None) -> "PublicationQuerySet":
        """Newest first among those in effect at `at` (default now): `.first()` is
        what the public sees. "Newest" is the highest version: a version is
        approved from the whole draft, so it contains everything an earlier,
        still-scheduled version held and supersedes it."""
        return self.in_effect(at).order_by("-version")


class Publication(models.Model):
    """A frozen snapshot of the whole page, as approved, and when it takes effect.

    Rows are only ever inserted (see `PublicationQuerySet`); the public page
    renders the highest version whose `effective_at` has come.
    """

    # Chained when approved; the audit log links every earlier change to the
    # publication that took it live.
    chain_spec = ChainSpec(time_field="snapshot_taken_at", user_field="approved_by", action="published", publishes=True)

    version = models.PositiveIntegerField(unique=True, help_text="1, 2, 3… in order of approval.")
    snapshot = models.JSONField(help_text="The page as `build_snapshot()` returned it when publication was asked for.")
    summary = models.TextField(help_text="What changed and why, as the requester wrote it.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The names as they were at approval (a later rename changes neither); empty on
    # versions from before they were kept, which show today's names.
    requested_by_username = models.CharField(max_length=150, blank=True, editable=False, db_default="")
    approved_by_username = models.CharField(max_length=150, blank=True, editable=False, db_default="")
    snapshot_taken_at = models.DateTimeField(
        default=timezone.now,
        help_text="When the draft was frozen into the snapshot: when publication was asked for (the request).",
    )
    approved_at = models.DateTimeField(
        null=True, blank=True, help_text="When a second person approved it (empty on versions from before it was kept)."
    )
    effective_at = models.DateTimeField(
        help_text="From when the public page shows this version (approval time, or a scheduled moment)."
    )

    objects = PublicationQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        get_latest_by = "version"
        # Written by services only and never changed: no add/change/delete permissions.
        default_permissions = ("view",)
        permissions = [("preview_draft", "Can preview the draft page")]
        indexes = [models.Index(fields=["effective_at", "version"], name="publication_effective_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(version__gte=1), name="publication_version_positive"),
            models.CheckConstraint(
                condition=models.Q(effective_at__gte=models.F("snapshot_taken_at")),
                name="publication_not_backdated",
            ),
        ]

    def __str__(self) -> str:
        return f"Version {self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # An integrity guard, not workflow: a publication is evidence of what
        # the public saw, so an existing row is never rewritten.
        if not self._state.adding:
            raise PublicationImmutableError("A publication is never changed once written.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PublicationImmutableError("A publication is never deleted.")

    @property
    def audit_reason(self) -> str:
        """The audit log's wording. Only the seed's first version, published by
        the system account when nothing had ever been published, has the same
        requester and approver (`publication_publish_initial`); it says so."""
        if self.requested_by_id == self.approved_by_id:
            return f"{self.summary}: published by the system account without a second person (nothing was live yet)"
        return self.summary


# The constraint that lets only one publication request wait at a time.
ONE_PENDING_REQUEST = "one_pending_publication_request"


class PublicationRequest(models.Model):
    """An editor's request to publish the current draft, and its decision.

    Approval creates the `Publication`; the request keeps who decided, when and
    (for a rejection) why.
    """

    summary = models.TextField(help_text="What changes for readers, in a sentence or two.")
    # The draft as it stood when publication was asked for: what the approver
    # reviews and exactly what approval publishes. Edits made afterwards need
    # a new request. Empty only on requests made before requests froze it.
    snapshot = models.JSONField(null=True, blank=True, editable=False)
    snapshot_sha256 = models.CharField(
        "fingerprint", max_length=64, blank=True, editable=False, help_text="SHA-256 of the frozen snapshot."
    )
    snapshot_taken_at = models.DateTimeField(null=True, blank=True, editable=False)
    status = models.CharField(
        max_length=20,
        choices=PublicationRequestStatus.choices,
        default=PublicationRequestStatus.PENDING,
        db_index=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="publication_requests",
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    publication = models.OneToOneField(
        Publication,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="request",
    )

    # Asked, then approved or rejected: each version is chained.
    history = HistoricalRecords()
    chain_spec = ChainSpec(history=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        default_permissions = ("view",)
        permissions = [
            ("request_publication", "Can ask for the draft to be published"),
            ("approve_publication", "Can approve, schedule or reject a publication"),
        ]
        constraints = [
            # One open request at a time: each publishes the whole draft.
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status=PublicationRequestStatus.PENDING),
                name=ONE_PENDING_REQUEST,
            ),
            models.CheckConstraint(
                condition=~models.Q(status=PublicationRequestStatus.APPROVED)
                | models.Q(publication__isnull=False, decided_by__isnull=False),
                name="approved_request_has_publication",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=PublicationRequestStatus.REJECTED)
                | (models.Q(decided_by__isnull=False) & ~models.Q(rejection_reason="")),
                name="rejected_request_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Publication request #{self.pk}: {self.summary[:60]}"


# --- Updates -------------------------------------------------------------------

# What an update may concern: a section of the page (by key) or an item of it
# (by slug), written "<kind>:<key or slug>", e.g. "section:gdpr", "subprocessor:aws".
UPDATE_CONCERN_KINDS = (
    "section",
    "certification",
    "control",
    "subprocessor",
    "data-handling",
    "gdpr",
    "contact-route",
    "document",
)


def validate_update_concerns(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(ref, str) for ref in value):
        raise ValidationError("A list of “kind:key” references.", code="concerns_invalid")
    for ref in value:
        kind, sep, key = ref.partition(":")
        if not sep or kind not in UPDATE_CONCERN_KINDS or not key:
            raise ValidationError(f"“{ref}” names no section or item of the page.", code="concerns_invalid")


class Update(TrackedModel):
    """A piece of news staff post on the trust center: an incident, a new
    certification, a roadmap item. Editors write it here (the draft, each
    change with a reason); it reaches the public only as an `UpdatePublication`,
    the exact text a second person approved (`UpdateRequest`)."""

    slug = models.SlugField(
        max_length=80,
        unique=True,
        help_text="Its address: /updates/<slug>/. Lowercase, hyphens. Keep it once published.",
    )
    title = SingleLineCharField(max_length=200)
    body = models.TextField(
        help_text="Markdown: paragraphs, **bold**, *italic*, lists, links, `code`. HTML is shown as text; no images."
    )
    category = models.CharField(max_length=20, choices=UpdateCategory.choices, default=UpdateCategory.GENERAL)
    concerns = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_update_concerns],
        help_text="The sections or items of the page this update is about.",
    )
    effective_at = models.DateTimeField(
        "effective at",
        null=True,
        blank=True,
        help_text="Optional: when what the update describes takes (or took) effect. Shown with it.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("request_update", "Can ask for an update to be published"),
            ("approve_update", "Can approve or reject an update"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(category__in=UpdateCategory.values), name="update_category_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def frozen_content(self) -> dict[str, Any]:
        """What a request freezes and a publication shows: plain values only,
        so the fingerprint is the same whichever database stored it."""
        return {
            "slug": self.slug,
            "title": self.title,
            "body": self.body,
            "category": self.category,
            "concerns": list(self.concerns),
            "effective_at": self.effective_at.isoformat() if self.effective_at else None,
        }


# The constraint that lets only one request per update wait at a time.
ONE_PENDING_UPDATE_REQUEST = "one_pending_request_per_update"


class UpdateRequest(models.Model):
    """An editor's request to publish an update as it stood when asked, and its
    decision. Like a `PublicationRequest`: the content is frozen with its
    fingerprint; approval publishes exactly that and creates the
    `UpdatePublication`."""

    update = models.ForeignKey(Update, on_delete=models.PROTECT, related_name="requests")
    content = models.JSONField(editable=False, help_text="The update as it stood when publication was asked for.")
    content_sha256 = models.CharField("fingerprint", max_length=64, editable=False)
    status = models.CharField(
        max_length=20,
        choices=PublicationRequestStatus.choices,
        default=PublicationRequestStatus.PENDING,
        db_index=True,
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    publication = models.OneToOneField(
        "UpdatePublication", on_delete=models.PROTECT, null=True, blank=True, related_name="request"
    )

    # Asked, then approved or rejected: each version is chained.
    history = HistoricalRecords()
    chain_spec = ChainSpec(history=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        default_permissions = ("view",)
        verbose_name = "update publication request"
        constraints = [
            models.UniqueConstraint(
                fields=["update"],
                condition=models.Q(status=PublicationRequestStatus.PENDING),
                name=ONE_PENDING_UPDATE_REQUEST,
            ),
            models.CheckConstraint(
                condition=~models.Q(status=PublicationRequestStatus.APPROVED)
                | models.Q(publication__isnull=False, decided_by__isnull=False),
                name="approved_update_request_has_publication",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=PublicationRequestStatus.REJECTED)
                | (models.Q(decided_by__isnull=False) & ~models.Q(rejection_reason="")),
                name="rejected_update_request_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Request #{self.pk} to publish “{self.content.get('title', '')[:60]}”"


class UpdatePublication(models.Model):
    """One approved text of an update, as the public sees it from `published_at`.

    Inserted once, never changed (like a `Publication`). The first revision
    publishes the update; a later one (a correction) replaces its text, and
    the earlier revisions stay as the record of what was shown."""

    chain_spec = ChainSpec(time_field="published_at", user_field="approved_by", action="update published")

    update = models.ForeignKey(Update, on_delete=models.PROTECT, related_name="publications")
    revision = models.PositiveIntegerField(help_text="1 for the first publication of the update, then 2, 3…")
    content = models.JSONField(
        help_text="The update's title, body, category, concerns and effective time, as approved."
    )
    content_sha256 = models.CharField("fingerprint", max_length=64)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_by_username = models.CharField(max_length=150, editable=False)
    approved_by_username = models.CharField(max_length=150, editable=False)
    content_taken_at = models.DateTimeField(help_text="When the request froze the text.")
    published_at = models.DateTimeField(help_text="When it was approved and shown.")
    first_published_at = models.DateTimeField(help_text="When revision 1 was published: the update's date.")

    objects = InsertOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        default_permissions = ("view",)
        verbose_name = "published update"
        indexes = [models.Index(fields=["published_at"], name="updatepublication_time_idx")]
        constraints = [
            models.UniqueConstraint(fields=["update", "revision"], name="update_revision_unique"),
            models.CheckConstraint(condition=models.Q(revision__gte=1), name="update_revision_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.content.get('title', '')} (revision {self.revision})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PublicationImmutableError("A published update is never changed once written.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PublicationImmutableError("A published update is never deleted.")
