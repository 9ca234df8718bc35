"""Every write about access to gated documents.

Asking for access submits a ticket (kind `document_access`) and records the
NDA acceptance in the same transaction. Staff decide in the ticket workflow:
fulfilling grants access (`document_grant_issue`, on the event `TicketFulfilled`
after the fulfilment commits; `document_grants_redrive` issues any grant a
failure left owed), rejecting denies it. Addresses on DOCUMENT_AUTO_APPROVE_DOMAINS
are granted at once; free-mail addresses are refused when DOCUMENT_BLOCK_FREEMAIL.
Personal data is never logged.
"""

import datetime as dt
import hashlib
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from compliance.enums import DocumentVisibility
from compliance.models import Document
from compliance.services import clean_reason
from core import tokens
from core.history import system_actor
from core.outbox import link_placeholder, token_url_template
from evidence.services import chain_lock
from requests_app.enums import TicketEventKind, TicketKind, TicketStatus
from requests_app.mail import ticket_mail_queue
from requests_app.models import Ticket, TicketEvent
from requests_app.services import ticket_submit, ticket_transition

from .models import DocumentDownload, DocumentGrant, NdaAcceptance, NdaApproval, NdaVersion
from .selectors import live_listing

logger = logging.getLogger(__name__)

GRANT = "document-grant"
USER_AGENT_MAX = 300
AUTO_APPROVE_REASON = "Approved automatically: the work email is on an approved domain."

# Common free-mail domains; DOCUMENT_BLOCK_FREEMAIL refuses requests from them.
FREEMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "yahoo.com",
        "outlook.com",
        "hotmail.com",
        "icloud.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "aol.com",
        "mail.com",
    }
)


def _user_agent(value: str | None) -> str:
    # Headers may carry NUL bytes, which PostgreSQL text columns refuse.
    return (value or "").replace("\x00", "")[:USER_AGENT_MAX]


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower()


def _domain_matches(domain: str, listed: str) -> bool:
    listed = listed.strip().lower().lstrip("@")
    return bool(listed) and (domain == listed or domain.endswith("." + listed))


def is_freemail(email: str) -> bool:
    domain = email_domain(email)
    return any(_domain_matches(domain, free) for free in FREEMAIL_DOMAINS)


def is_auto_approved(email: str) -> bool:
    domain = email_domain(email)
    return any(_domain_matches(domain, allowed) for allowed in settings.DOCUMENT_AUTO_APPROVE_DOMAINS)


def active_nda() -> NdaVersion | None:
    """The NDA version on offer: the active one, which a second person approved."""
    return NdaVersion.objects.filter(active=True, approval__isnull=False).first()


def gated_listing(slug: str) -> dict[str, Any] | None:
    """The document's entry on the live page if it lists it as gated, else None.

    Requesters read the title and description from here, the published text,
    never from the draft row (which editors may be changing)."""
    entry = live_listing(slug)
    if entry is None or entry.get("visibility") != DocumentVisibility.GATED:
        return None
    return entry


def access_request_submit(
    *,
    document_slug: str,
    data: dict[str, Any],
    nda_version_id: int,
    submission_token: str,
    ip: str | None = None,
    user_agent: str = "",
) -> Ticket:
    """Ask for access to a gated document, accepting the NDA shown.

    `data` holds requester_name, requester_email (work email), legal_entity.
    Refusals: "document_not_gated" (not listed as gated on the live page),
    "freemail_blocked", "nda_changed" (the NDA shown is no longer the active one).
    A retried submission (same token) returns the ticket it made.
    Side effects, in one transaction: the ticket and its mails (`ticket_submit`);
    an NdaAcceptance (version, time, IP, user agent); on an approved domain the
    ticket is fulfilled at once by the system actor, which grants access. Every
    mail to the requester counts against the daily cap of public-form mail.
    """
    listing = gated_listing(document_slug)
    document = Document.objects.filter(slug=document_slug).first() if listing is not None else None
    if listing is None or document is None:
        raise ValidationError("This document is not offered on request.", code="document_not_gated")
    email = str(data.get("requester_email") or "").strip().lower()
    if settings.DOCUMENT_BLOCK_FREEMAIL and is_freemail(email):
        raise ValidationError(
            "Please use your work email address; we do not share documents with free-mail addresses.",
            code="freemail_blocked",
        )
    nda = active_nda()
    if nda is None or nda.pk != nda_version_id:
        raise ValidationError(
            "The non-disclosure agreement has changed since the form was shown. Please read and accept it again.",
            code="nda_changed",
        )
    with transaction.atomic():
        ticket, _ = ticket_submit(
            kind=TicketKind.DOCUMENT_ACCESS,
            data={
                **data,
                "requester_email": email,
                "document": document.slug,
                "document_title": listing["title"],
                "nda_version": nda.label,
            },
            submission_token=submission_token,
            ip=ip,
        )
        _, created = NdaAcceptance.objects.get_or_create(
            ticket=ticket,
            defaults={
                "document": document,
                "nda_version": nda,
                "accepted_at": ticket.received_at,
                "ip": ip or None,
                "user_agent": _user_agent(user_agent),
            },
        )
        if created and ticket.status == TicketStatus.OPEN and is_auto_approved(email):
            actor = system_actor()
            # Every mail of this path is the visitor's doing: each counts against the daily cap.
            for to_status in (TicketStatus.IN_PROGRESS, TicketStatus.FULFILLED):
                ticket = ticket_transition(
                    ticket_id=ticket.pk,
                    to_status=to_status,
                    actor=actor,
                    reason=AUTO_APPROVE_REASON,
                    from_public_form=True,
                )
            # Granted here, in this transaction; `TicketFulfilled` then finds the grant made.
            document_grant_issue(ticket_id=ticket.pk, auto_approved=True)
    logger.info("Document access ticket id=%s submitted", ticket.pk)
    return ticket


def grant_url_template(document_slug: str) -> str:
    return token_url_template("documents:gated_download", slug=document_slug)


def document_grant_issue(*, ticket_id: int, auto_approved: bool = False) -> DocumentGrant | None:
    """Grant the access a fulfilled document access ticket stands for, for
    DOCUMENT_GRANT_DAYS; return the grant, or None for a ticket that is not
    (or no longer) owed one.

    Called on `TicketFulfilled` (after the fulfilment commits), directly by the
    allowed-domain rule, and by `document_grants_redrive`. Idempotent: the
    ticket row is locked and a ticket has at most one grant, so a second call
    returns the grant the first made. The grant names whoever fulfilled the
    ticket. Side effects, in one transaction: a DocumentGrant; a mail to the
    requester with the private download link (filled in at send time; the raw
    token is stored nowhere).
    """
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        existing = DocumentGrant.objects.filter(ticket=ticket).first()
        if existing is not None:
            return existing
        if (
            ticket.kind != TicketKind.DOCUMENT_ACCESS
            or ticket.fulfilled_at is None
            or ticket.personal_data_purged_at is not None
        ):
            return None
        try:
            acceptance = NdaAcceptance.objects.select_related("document").get(ticket=ticket)
        except NdaAcceptance.DoesNotExist:
            raise ValidationError(
                "This request has no NDA acceptance; access cannot be granted.", code="nda_missing"
            ) from None
        fulfilment = (
            TicketEvent.objects.filter(
                ticket=ticket, kind=TicketEventKind.STATUS_CHANGED, to_status=TicketStatus.FULFILLED
            )
            .order_by("-created_at", "-id")
            .first()
        )
        now = timezone.now()
        # The title as the live page showed it when access was asked for, never the draft's.
        title = ticket.form_data.get("document_title") or acceptance.document.slug
        nonce, token_hash = tokens.new_token(GRANT)
        grant = DocumentGrant.objects.create(
            ticket=ticket,
            document=acceptance.document,
            token_nonce=nonce,
            token_hash=token_hash,
            granted_at=now,
            granted_by_id=fulfilment.actor_id if fulfilment else None,
            auto_approved=auto_approved,
            expires_at=now + dt.timedelta(days=settings.DOCUMENT_GRANT_DAYS),
        )
        ticket_mail_queue(
            template="document_access_granted",
            to=ticket.requester_email,
            subject=f"[{ticket.reference}] Your access to {title}",
            ticket=ticket,
            context={"grant": grant, "document_title": title, "download_url": "[[download_url]]"},
            links=link_placeholder(
                name="download_url",
                purpose=GRANT,
                nonce=nonce,
                token_hash=grant.token_hash,
                url=grant_url_template(acceptance.document.slug),
            ),
            # An auto-approved grant is mailed because a visitor asked, not a handler.
            from_public_form=auto_approved,
        )
    logger.info("Document access ticket id=%s: access granted", ticket.pk)
    return grant


def tickets_owed_a_grant() -> list[int]:
    """Fulfilled document access tickets without their grant (a failed receiver), oldest first."""
    return list(
        Ticket.objects.filter(
            kind=TicketKind.DOCUMENT_ACCESS,
            fulfilled_at__isnull=False,
            personal_data_purged_at__isnull=True,
            document_grant__isnull=True,
            nda_acceptance__isnull=False,
        )
        .order_by("fulfilled_at", "pk")
        .values_list("pk", flat=True)
    )


def document_grants_redrive() -> int:
    """The safety net of `TicketFulfilled`: issue every grant a fulfilled
    ticket is still owed. Run by the periodic job `documents.grants`; returns
    how many grants it issued."""
    issued = 0
    for ticket_id in tickets_owed_a_grant():
        try:
            document_grant_issue(ticket_id=ticket_id)
        except Exception:
            logger.exception("Document access ticket id=%s: grant could not be issued", ticket_id)
            continue
        issued += 1
    return issued


def grant_for_link(*, document_slug: str, raw_token: str, now: dt.datetime | None = None) -> DocumentGrant | None:
    """The grant a download link stands for, if it opens this document now:
    the token matches, the grant is for this document, not expired, not revoked."""
    if not raw_token or len(raw_token) > 128:
        return None
    now = now or timezone.now()
    grant = DocumentGrant.objects.select_related("document").filter(token_hash=tokens.token_hash(raw_token)).first()
    if grant is None or grant.document.slug != document_slug:
        return None
    if grant.revoked_at is not None or grant.expires_at <= now:
        return None
    return grant


def download_record(*, grant: DocumentGrant, sha256: str, ip: str | None, user_agent: str) -> DocumentDownload:
    """Log one download through a grant."""
    return DocumentDownload.objects.create(
        grant=grant,
        downloaded_at=timezone.now(),
        sha256=sha256,
        ip=ip or None,
        user_agent=_user_agent(user_agent),
    )


def grant_revoke(*, grant_id: int, actor: User, reason: str) -> DocumentGrant:
    """Withdraw access before it expires. Repeating it changes nothing.

    Side effects: revoked_at, revoked_by and the reason on the grant."""
    reason = clean_reason(reason)
    with transaction.atomic():
        grant = DocumentGrant.objects.select_for_update().get(pk=grant_id)
        if grant.revoked_at is None:
            grant.revoked_at = timezone.now()
            grant.revoked_by = actor
            grant.revoke_reason = reason
            grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    logger.info("Document grant id=%s revoked", grant.pk)
    return grant


def nda_text_sha256(text: str) -> str:
    """The fingerprint of an NDA text: what an approver approves."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def nda_version_create(*, label: str, text: str, reason: str, actor: User) -> NdaVersion:
    """Propose an NDA version. It is not offered until a second person approves
    its exact text (`nda_version_approve`); the version on offer stays until then.
    Side effects: one NdaVersion, inactive, with the text's SHA-256."""
    label, text = (label or "").strip(), (text or "").strip()
    if not label or not text:
        raise ValidationError("An NDA version needs a label and its text.", code="nda_incomplete")
    reason = clean_reason(reason)
    return NdaVersion.objects.create(
        label=label,
        text=text,
        text_sha256=nda_text_sha256(text),
        reason=reason,
        active=False,
        created_at=timezone.now(),
        created_by=actor,
    )


def nda_version_approve(*, version_id: int, actor: User, fingerprint: str) -> NdaVersion:
    """Approve a proposed NDA version and offer it to requesters from now on.

    `fingerprint` is the SHA-256 of the text the approver read (the review page
    carries it): approval takes exactly that text live. Refusals:
    PermissionDenied without `documents.approve_ndaversion`; ValidationError
    "four_eyes" (the approver proposed it), "nda_changed" (the text is not the
    one reviewed), "nda_already_approved", "nda_superseded" (a version proposed
    later was approved already).
    Side effects, in one transaction: an NdaApproval (chained into the evidence
    ledger); the version becomes the active one and the previous one retires
    (it stays on record with its acceptances).
    """
    if not actor.has_perm("documents.approve_ndaversion"):
        raise PermissionDenied("You may not approve NDA versions.")
    with transaction.atomic():
        chain_lock()
        version = NdaVersion.objects.select_for_update().get(pk=version_id)
        if hasattr(version, "approval"):
            raise ValidationError("This NDA version is approved already.", code="nda_already_approved")
        if version.created_by_id is not None and version.created_by_id == actor.pk:
            raise ValidationError("You proposed this NDA version; a second person must approve it.", code="four_eyes")
        if fingerprint != version.text_sha256 or nda_text_sha256(version.text) != version.text_sha256:
            raise ValidationError(
                "The NDA text is not the one you reviewed. Open the review page again.", code="nda_changed"
            )
        if NdaApproval.objects.filter(nda_version__created_at__gt=version.created_at).exists():
            raise ValidationError(
                "A version proposed after this one is approved already; propose a new version instead.",
                code="nda_superseded",
            )
        for previous in NdaVersion.objects.select_for_update().filter(active=True):
            previous.active = False
            previous.save(update_fields=["active"])
        NdaApproval.objects.create(
            nda_version=version,
            text_sha256=version.text_sha256,
            summary=version.reason,
            proposed_by_id=version.created_by_id,
            approved_by=actor,
            approved_at=timezone.now(),
        )
        version.active = True
        version.save(update_fields=["active"])
    logger.info("NDA version id=%s approved and offered", version.pk)
    return version
