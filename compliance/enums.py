from django.db import models


class CertificationStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    AUDIT_SCHEDULED = "audit_scheduled", "Audit scheduled"
    ACHIEVED = "achieved", "Achieved"
    AVAILABLE_ON_REQUEST = "available_on_request", "Available on request"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class ControlStatus(models.TextChoices):
    IN_PLACE = "in_place", "In place"
    PLANNED = "planned", "Planned"


class SectionKey(models.TextChoices):
    """The page's sections. Their order, titles and intros are content; the
    keys are stable so snapshots can be diffed and machine readers rely on them."""

    CERTIFICATIONS = "certifications", "Certification status"
    DATA_SECURITY = "data-security", "Data security"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    ACCESS_CONTROLS = "access-controls", "Access controls"
    INCIDENT_RESPONSE = "incident-response", "Incident response"
    VULNERABILITY_DISCLOSURE = "vulnerability-disclosure", "Vulnerability disclosure"
    DATA_HANDLING = "data-handling", "Data handling"
    GDPR = "gdpr", "GDPR"
    CONTACT = "contact", "Contact"
    DOCUMENTS = "documents", "Documents"


class DocumentVisibility(models.TextChoices):
    PUBLIC = "public", "Public: anyone can download it"
    GATED = "gated", "Gated: shared on request, after the NDA"


class PublicationRequestStatus(models.TextChoices):
    PENDING = "pending", "Awaiting approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


# The moves a publication request may make; anything else is refused.
PUBLICATION_REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    PublicationRequestStatus.PENDING: frozenset({PublicationRequestStatus.APPROVED, PublicationRequestStatus.REJECTED}),
    PublicationRequestStatus.APPROVED: frozenset(),
    PublicationRequestStatus.REJECTED: frozenset(),
}


class UpdateCategory(models.TextChoices):
    """What an update is about; subscribers choose the categories they are mailed."""

    GENERAL = "general", "General"
    COMPLIANCE = "compliance", "Compliance"
    SECURITY = "security", "Security"
    PRIVACY = "privacy", "Privacy"
    INCIDENT = "incident", "Incident"
    ROADMAP = "roadmap", "Roadmap"
