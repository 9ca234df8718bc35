"""Builders for test data, in one place: factory_boy factories for model rows,
and the few flows (publishing) that tests run through the services."""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import factory
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from factory.django import DjangoModelFactory

from compliance import services
from compliance.enums import SectionKey
from compliance.models import (
    Certification,
    ContactRoute,
    Control,
    DataHandlingRow,
    Document,
    GdprFact,
    Organization,
    Section,
    Subprocessor,
    Update,
    UpdatePublication,
)
from core.history import system_actor
from tests.pdfs import pdf as pdf_bytes

SEED_PATH = Path(__file__).resolve().parents[1] / "compliance" / "seed" / "coaxiom.json"
SEED_DATA: dict[str, Any] = json.loads(SEED_PATH.read_text(encoding="utf-8"))
STAFF_PASSWORD = "correct-horse-battery"
_M = TypeVar("_M", bound=Model)


def save(obj, actor, reason: str = "test fixture"):
    return services.content_save(obj=obj, actor=actor, reason=reason)


def section(key: str) -> Section:
    return Section.objects.get(key=key)


def add_rows_per_section(n: int, actor, prefix: str = "x") -> None:
    """Add n extra rows to every list on the page."""
    for i in range(n):
        save(Certification(slug=f"{prefix}-cert-{i}", name=f"Cert {i}", status="planned"), actor)
        for key in (
            SectionKey.DATA_SECURITY,
            SectionKey.ACCESS_CONTROLS,
            SectionKey.INCIDENT_RESPONSE,
            SectionKey.VULNERABILITY_DISCLOSURE,
        ):
            save(
                Control(slug=f"{prefix}-{key}-{i}", section=section(key), group=f"G{i % 3}", title=f"Control {i}"),
                actor,
            )
        save(Subprocessor(slug=f"{prefix}-sub-{i}", name=f"Sub {i}", purpose="p", certifications="A, B"), actor)
        save(DataHandlingRow(slug=f"{prefix}-dh-{i}", category=f"Cat {i}", description="d"), actor)
        save(GdprFact(slug=f"{prefix}-gdpr-{i}", label=f"L {i}", body="b"), actor)
        save(ContactRoute(slug=f"{prefix}-route-{i}", label=f"R {i}", email=f"r{i}@example.com", topics="t"), actor)


def publish_draft(*, requester, approver, summary: str = "test publication", effective_at=None):
    """Ask for and approve a publication of the current draft; returns the Publication."""
    request = services.publication_request(summary=summary, actor=requester)
    return services.publication_approve(request_id=request.pk, actor=approver, effective_at=effective_at)


def write_update(
    *,
    editor,
    slug: str = "tls-1-0-retired",
    title: str = "TLS 1.0 retired",
    body: str = "We no longer accept **TLS 1.0**.",
    category: str = "security",
    concerns: Iterable[str] = (),
    effective_at=None,
    reason: str = "announce it",
) -> Update:
    """An update's draft, written through the service as `editor`."""
    update = Update(
        slug=slug, title=title, body=body, category=category, concerns=list(concerns), effective_at=effective_at
    )
    return services.update_save(obj=update, actor=editor, reason=reason)


def publish_update(*, update: Update, requester, approver) -> UpdatePublication:
    """Ask for an update to be published and approve the frozen text."""
    request = services.update_request(update_id=update.pk, actor=requester)
    return services.update_approve(request_id=request.pk, actor=approver, fingerprint=request.content_sha256)


def offer_nda(*, label: str, text: str, editor, approver=None):
    """Propose an NDA version as `editor` and have a second person (`approver`,
    by default a new Compliance approver) approve it: the version on offer."""
    from documents.services import nda_version_approve, nda_version_create

    version = nda_version_create(label=label, text=text, reason="test NDA version", actor=editor)
    approver = approver or StaffFactory(groups=["Compliance approver"])
    return nda_version_approve(version_id=version.pk, actor=approver, fingerprint=version.text_sha256)


PDF_BYTES = pdf_bytes("report")


def pdf_file(content: bytes = PDF_BYTES, name: str = "report.pdf") -> SimpleUploadedFile:
    """An uploaded PDF, as a browser sends it."""
    return SimpleUploadedFile(name, content, content_type="application/pdf")


class StaffFactory(DjangoModelFactory[User]):
    """A staff account with a usable password, in the given role groups."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password(STAFF_PASSWORD)
    is_staff = True
    is_superuser = False

    @factory.post_generation
    def groups(self, create: bool, names: Iterable[str] | None, **kwargs: Any) -> None:
        if create and names:
            self.groups.add(*(Group.objects.get(name=name) for name in names))


class ContentFactory(DjangoModelFactory[_M]):
    """A content row of the page. `create` saves it through the content service,
    so it is validated and gets a history row naming `actor` (default: the
    system actor) and `reason`; `build` leaves it unsaved."""

    class Meta:
        abstract = True

    actor = None
    reason = "test fixture"

    @classmethod
    def _build(cls, model_class: type[Model], *args: Any, actor: Any = None, reason: str = "", **kwargs: Any) -> Any:
        return model_class(*args, **kwargs)

    @classmethod
    def _create(
        cls, model_class: type[Model], *args: Any, actor: Any = None, reason: str = "test fixture", **kwargs: Any
    ) -> Any:
        obj = model_class(*args, **kwargs)
        return services.content_save(obj=obj, actor=actor or system_actor(), reason=reason)


class OrganizationFactory(ContentFactory[Organization]):
    class Meta:
        model = Organization

    name = "Acme"
    legal_name = "Acme Ltd"
    intro = "We care about security."
    contact_email = "hello@acme.test"
    security_email = "security@acme.test"
    preferred_languages = "en, de"


class SectionFactory(ContentFactory[Section]):
    class Meta:
        model = Section

    key = SectionKey.GDPR
    title = "GDPR"
    position = 80


class CertificationFactory(ContentFactory[Certification]):
    class Meta:
        model = Certification

    slug = "iso-27001"
    name = "ISO 27001"
    status = "planned"
    target = "2027"


def _data_security_section(actor: Any) -> Section:
    """The Data Security section, saved as `actor` when it does not exist yet."""
    existing = Section.objects.filter(key=SectionKey.DATA_SECURITY).first()
    if existing is not None:
        return existing
    return SectionFactory.create(key=SectionKey.DATA_SECURITY, title="Data Security", position=20, actor=actor)


class ControlFactory(ContentFactory[Control]):
    class Meta:
        model = Control

    slug = "tls"
    section = factory.LazyAttribute(lambda o: _data_security_section(o.actor))
    group = "Data in Transit"
    title = "TLS 1.2+ enforced"
    status = "in_place"


class SubprocessorFactory(ContentFactory[Subprocessor]):
    class Meta:
        model = Subprocessor

    slug = "fly-io"
    name = "Fly.io"
    purpose = "Application hosting"
    location = "EU"
    reason = "new hosting provider"


class DataHandlingRowFactory(ContentFactory[DataHandlingRow]):
    class Meta:
        model = DataHandlingRow

    slug = "account"
    category = "Account data"
    description = "Email address"


class GdprFactFactory(ContentFactory[GdprFact]):
    class Meta:
        model = GdprFact

    slug = "legal-basis"
    label = "Legal Basis"
    body = "Contract performance"


class ContactRouteFactory(ContentFactory[ContactRoute]):
    class Meta:
        model = ContactRoute

    slug = "privacy"
    label = "Privacy & legal"
    email = "privacy@acme.test"
    topics = "DPA requests"


class DocumentFactory(ContentFactory[Document]):
    class Meta:
        model = Document

    class Params:
        content = PDF_BYTES  # the PDF's bytes

    slug = "soc2-report"
    title = "SOC 2 report"
    description = factory.LazyAttribute(lambda o: f"About {o.title}.")
    visibility = "gated"
    file = factory.LazyAttribute(lambda o: pdf_file(o.content))
    reason = "document uploaded"


CONTENT_FACTORIES: dict[type[Model], type[ContentFactory[Any]]] = {
    Organization: OrganizationFactory,
    Section: SectionFactory,
    Certification: CertificationFactory,
    Control: ControlFactory,
    Subprocessor: SubprocessorFactory,
    DataHandlingRow: DataHandlingRowFactory,
    GdprFact: GdprFactFactory,
    ContactRoute: ContactRouteFactory,
    Document: DocumentFactory,
}


def new_row(model: type[Model], actor: Any) -> Any:
    """An unsaved, valid row of a content model (saving prerequisites as `actor`)."""
    try:
        content_factory = CONTENT_FACTORIES[model]
    except KeyError:
        raise LookupError(f"No factory for {model.__name__}") from None
    return content_factory.build(actor=actor)


def published_page(client, summary: str = "publish for test") -> str:
    """Publish the current draft (four-eyes satisfied by two fresh reviewers) and
    return the public page's HTML, as a visitor sees it."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    requester, _ = User.objects.get_or_create(
        username="pub-requester", defaults={"is_staff": True, "is_superuser": True}
    )
    approver, _ = User.objects.get_or_create(username="pub-approver", defaults={"is_staff": True, "is_superuser": True})
    publish_draft(requester=requester, approver=approver, summary=summary)
    return client.get("/").content.decode()
