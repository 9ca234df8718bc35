"""Every write of the subscriptions app.

Subscribing is double opt-in: a request mails a single-use confirmation link,
and only a confirmed, not unsubscribed address receives notices. Every mail
carries a one-click unsubscribe link (RFC 8058 headers). Notices of a
publication are written with their outbox mail in one transaction, at most one
per subscriber and publication (a unique constraint), so running the sender
twice sends nothing twice. Addresses are never logged.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import dateformat, timezone

from compliance.diff import snapshot_diff
from compliance.enums import UpdateCategory
from compliance.markdown import markdown_to_html, markdown_to_text
from compliance.models import Publication
from compliance.selectors import latest_update_publication
from core import tokens
from core.outbox import absolute_url, link_placeholder, outbox_queue, token_url_template
from core.text import clean_email
from customers.selectors import contact_for_address, subprocessor_notice_contacts
from evidence.selectors import checkpoint_for_row
from requests_app.enums import TicketKind
from requests_app.models import Ticket
from requests_app.services import ticket_submit

from .changes import SubprocessorChanges, subprocessor_changes
from .enums import SubscriptionScope
from .events import ObjectionFiled, objection_filed
from .models import ContactNotice, SubprocessorNotice, SubprocessorObjection, Subscriber, UpdateNotice

logger = logging.getLogger(__name__)

CONFIRM = "subscribe-confirm"
UNSUBSCRIBE = "unsubscribe"
CONFIRM_VALID_DAYS = 7
CONFIRM_PLACEHOLDER = "[[confirm_url]]"
UNSUBSCRIBE_PLACEHOLDER = "[[unsubscribe_url]]"


# ---------------------------------------------------------------- links and headers


def confirm_url_template() -> str:
    return token_url_template("subscriptions:confirm")


def unsubscribe_url_template() -> str:
    return token_url_template("subscriptions:unsubscribe")


def objection_url(publication: Publication) -> str:
    return absolute_url("subscriptions:objection", version=publication.version)


def _links(subscriber: Subscriber) -> dict[str, dict[str, str]]:
    links = link_placeholder(
        name="unsubscribe_url",
        purpose=UNSUBSCRIBE,
        nonce=subscriber.unsubscribe_nonce,
        token_hash=subscriber.unsubscribe_token_hash,
        url=unsubscribe_url_template(),
    )
    if subscriber.confirm_token_hash:
        links |= link_placeholder(
            name="confirm_url",
            purpose=CONFIRM,
            nonce=subscriber.confirm_nonce,
            token_hash=subscriber.confirm_token_hash,
            url=confirm_url_template(),
        )
    return links


def unsubscribe_headers() -> dict[str, str]:
    """List-Unsubscribe (RFC 2369) with the one-click POST of RFC 8058."""
    mailto = settings.UNSUBSCRIBE_MAILTO or settings.DEFAULT_FROM_EMAIL
    return {
        "List-Unsubscribe": f"<{UNSUBSCRIBE_PLACEHOLDER}>, <mailto:{mailto}?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _queue(
    subscriber: Subscriber, *, template: str, subject: str, context: dict[str, Any], from_public_form: bool = False
):
    return outbox_queue(
        template=template,
        to=subscriber.email,
        subject=subject,
        context={
            "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
            "confirm_url": CONFIRM_PLACEHOLDER,
            "subscriber": subscriber,
            **context,
        },
        headers=unsubscribe_headers(),
        links=_links(subscriber),
        from_public_form=from_public_form,
    )


# ---------------------------------------------------------------- subscribing


def clean_update_categories(categories: list[str] | None) -> list[str]:
    """The categories of updates asked for, in the order of `UpdateCategory`;
    None means all of them."""
    if categories is None:
        return list(UpdateCategory.values)
    unknown = set(categories) - set(UpdateCategory.values)
    if unknown:
        raise ValidationError("Choose categories of updates from the list.", code="categories_invalid")
    return [value for value in UpdateCategory.values if value in categories]


def subscriber_request(*, email: str, scope: str, update_categories: list[str] | None = None) -> Subscriber:
    """Ask for notices: mail a confirmation link to `email`.

    The same happens whatever the address's state (new, pending, subscribed,
    unsubscribed), so the answer never tells whether an address is subscribed;
    the scope and the categories of updates asked for (default: all) apply
    only once the link is used.
    Side effects: the Subscriber row (created or its pending link replaced);
    a confirmation mail in the outbox, withheld when the address reached the
    daily cap of public-form mail (the answer is the same).
    """
    # One subscriber per address, however it is typed.
    email = clean_email(email, field="Email").lower()
    if scope not in SubscriptionScope.values:
        raise ValidationError("Choose what to be notified about.", code="scope_invalid")
    categories = clean_update_categories(update_categories)
    now = timezone.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(email=email).first()
        if subscriber is None:
            unsub_nonce, unsub_hash = tokens.new_token(UNSUBSCRIBE)
            subscriber = Subscriber(
                email=email,
                created_at=now,
                unsubscribe_nonce=unsub_nonce,
                unsubscribe_token_hash=unsub_hash,
            )
        subscriber.requested_scope = scope
        subscriber.requested_update_categories = categories
        subscriber.confirm_nonce, subscriber.confirm_token_hash = tokens.new_token(CONFIRM)
        subscriber.confirm_sent_at = now
        subscriber.save()
        _queue(
            subscriber,
            template="subscription_confirm",
            subject="Please confirm your subscription",
            context={"scope_label": SubscriptionScope(scope).label, "valid_days": CONFIRM_VALID_DAYS},
            from_public_form=True,
        )
    logger.info("Subscription requested for subscriber id=%s", subscriber.pk)
    return subscriber


LINK_INVALID = "This link is not valid. It may have been used already or have expired."


def subscriber_confirm(*, raw_token: str) -> Subscriber:
    """Use a confirmation link: the address is subscribed with the scope it asked for.

    Single use; expires after CONFIRM_VALID_DAYS. Re-subscribes an address that
    had unsubscribed. Side effects: scope and categories of updates,
    confirmed_at, unsubscribed_at cleared, the link cleared.
    """
    now = timezone.now()
    with transaction.atomic():
        subscriber = tokens.pending_link_lock(
            Subscriber.objects, raw_token, valid_for=dt.timedelta(days=CONFIRM_VALID_DAYS), now=now
        )
        if subscriber is None:
            raise ValidationError(LINK_INVALID, code="link_invalid")
        if not subscriber.is_active:
            subscriber.confirmed_at = now
        subscriber.unsubscribed_at = None
        subscriber.scope = subscriber.requested_scope
        subscriber.update_categories = subscriber.requested_update_categories
        subscriber.confirm_nonce, subscriber.confirm_token_hash = "", None
        subscriber.save()
    logger.info("Subscriber id=%s confirmed", subscriber.pk)
    return subscriber


def subscriber_by_unsubscribe_token(raw_token: str) -> Subscriber | None:
    if not raw_token or len(raw_token) > 128:
        return None
    return Subscriber.objects.filter(unsubscribe_token_hash=tokens.token_hash(raw_token)).first()


def subscriber_unsubscribe(*, raw_token: str) -> Subscriber:
    """One-click unsubscribe. Repeating it changes nothing. A pending
    confirmation link stops working too. Side effects: unsubscribed_at."""
    with transaction.atomic():
        subscriber = subscriber_by_unsubscribe_token(raw_token)
        if subscriber is None:
            raise ValidationError(LINK_INVALID, code="link_invalid")
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.unsubscribed_at is None:
            subscriber.unsubscribed_at = timezone.now()
        subscriber.confirm_nonce, subscriber.confirm_token_hash = "", None
        subscriber.save()
    logger.info("Subscriber id=%s unsubscribed", subscriber.pk)
    return subscriber


# ---------------------------------------------------------------- notices


def previous_publication(publication: Publication) -> Publication | None:
    return Publication.objects.filter(version__lt=publication.version).order_by("-version").first()


def publication_subprocessor_changes(publication: Publication) -> SubprocessorChanges:
    previous = previous_publication(publication)
    return subprocessor_changes(previous.snapshot if previous else None, publication.snapshot)


def objection_closes_at(publication: Publication) -> dt.datetime:
    """End of the objection window: SUBPROCESSOR_OBJECTION_DAYS after approval,
    which is when the notices go out."""
    approved_at = publication.approved_at or publication.snapshot_taken_at
    return approved_at + dt.timedelta(days=settings.SUBPROCESSOR_OBJECTION_DAYS)


@dataclass(frozen=True)
class NoticeContent:
    subprocessors: SubprocessorChanges
    all_changes: list[str]


def _notice_content(publication: Publication) -> NoticeContent:
    previous = previous_publication(publication)
    old = previous.snapshot if previous else None
    all_changes = [c.text for c in snapshot_diff(old, publication.snapshot)] if old is not None else []
    return NoticeContent(subprocessor_changes(old, publication.snapshot), all_changes)


def notice_recipients(publication: Publication, *, subprocessor_change: bool):
    """Confirmed, subscribed addresses owed a notice of this publication and not yet sent one."""
    scopes = [SubscriptionScope.ALL] + ([SubscriptionScope.SUBPROCESSORS] if subprocessor_change else [])
    return (
        Subscriber.objects.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True, scope__in=scopes)
        .exclude(notices__publication=publication)
        .order_by("pk")
    )


def publication_notices_send(*, publication_id: int) -> int:
    """Write the notice of a publication to every subscriber owed one; returns how many.

    Idempotent: a subscriber who has a notice of this publication is skipped,
    and the unique constraint refuses a second one written concurrently.
    Side effects per subscriber, in one transaction: a SubprocessorNotice and
    its outbox mail (with the unsubscribe headers).
    """
    publication = Publication.objects.get(pk=publication_id)
    content = _notice_content(publication)
    changed = bool(content.subprocessors)
    checkpoint = checkpoint_for_row(model_label=Publication._meta.label_lower, row_pk=publication.pk)
    context = {
        "publication": publication,
        "changes": content.subprocessors,
        "all_changes": content.all_changes,
        "effective_at": publication.effective_at,
        "objection_closes_at": objection_closes_at(publication),
        "objection_url": objection_url(publication),
        "changelog_url": absolute_url("compliance:changelog"),
        "page_url": absolute_url("compliance:page"),
        # Subscribers keep a copy of the signed checkpoint that holds this version.
        "checkpoint": checkpoint.note if checkpoint is not None else "",
        "checkpoint_url": absolute_url("evidence:checkpoint"),
    }
    subject_change = (
        f"Subprocessor change taking effect {_day(publication.effective_at)}"
        if changed
        else f"Trust page updated (version {publication.version})"
    )
    sent = 0
    for subscriber in notice_recipients(publication, subprocessor_change=changed):
        try:
            with transaction.atomic():
                mail = _queue(
                    subscriber,
                    template="publication_notice",
                    subject=subject_change,
                    context={
                        **context,
                        "subprocessor_change": changed,
                        "show_all": subscriber.scope == SubscriptionScope.ALL,
                    },
                )
                SubprocessorNotice.objects.create(
                    publication=publication,
                    subscriber=subscriber,
                    mail=mail,
                    subprocessor_change=changed,
                    created_at=timezone.now(),
                )
        except IntegrityError:
            continue  # another run wrote this notice first
        sent += 1
    if changed:
        sent += _contact_notices_send(publication, context={**context, "subject": subject_change})
    logger.info("Publication version %s: %s notices written", publication.version, sent)
    return sent


def _contact_notices_send(publication: Publication, *, context: dict[str, Any]) -> int:
    """The subprocessor change told to every customer's confirmed legal and
    privacy contacts, once each (skipped when sent; the unique constraint
    refuses a concurrent second). Contacts are told under the customer's
    agreement, so their mail carries no unsubscribe link."""
    sent = 0
    for contact in (
        subprocessor_notice_contacts().select_related("customer").exclude(publication_notices__publication=publication)
    ):
        try:
            with transaction.atomic():
                mail = outbox_queue(
                    template="contact_publication_notice",
                    to=contact.email,
                    subject=context["subject"],
                    context={**context, "contact": contact},
                )
                ContactNotice.objects.create(
                    publication=publication, contact=contact, mail=mail, created_at=timezone.now()
                )
        except IntegrityError:
            continue  # another run wrote this notice first
        sent += 1
    return sent


# ---------------------------------------------------------------- updates


def update_recipients(*, update_id: int, category: str, published_at: dt.datetime) -> list[Subscriber]:
    """Confirmed, subscribed addresses of the scope "all updates" that chose
    `category`, that had confirmed by `published_at` and were not mailed this
    update yet. The categories are a short JSON list on each row; they are
    matched here rather than in SQL so that SQLite and PostgreSQL agree."""
    candidates = (
        Subscriber.objects.filter(
            confirmed_at__isnull=False,
            confirmed_at__lte=published_at,
            unsubscribed_at__isnull=True,
            scope=SubscriptionScope.ALL,
        )
        .exclude(update_notices__update_id=update_id)
        .order_by("pk")
    )
    return [subscriber for subscriber in candidates if category in (subscriber.update_categories or [])]


def update_notices_send(*, update_id: int) -> int:
    """Mail a published update to every subscriber of its category owed it; returns how many.

    Idempotent: a subscriber mailed this update before (whatever revision) is
    skipped, and the unique constraint refuses a second notice written
    concurrently, so a re-driven event or a correction mails nobody twice.
    Side effects per subscriber, in one transaction: an UpdateNotice and its
    outbox mail (with the one-click unsubscribe headers).
    """
    publication = latest_update_publication(update_id)
    if publication is None:
        return 0  # never approved: nothing public to tell
    content = publication.content
    category = str(content["category"])
    effective_at = content.get("effective_at")
    context = {
        "title": content["title"],
        "category_label": UpdateCategory(category).label,
        "body_text": markdown_to_text(str(content["body"])),
        "body_html": markdown_to_html(str(content["body"])),
        "published_at": publication.first_published_at,
        "effective_at": dt.datetime.fromisoformat(effective_at) if effective_at else None,
        "update_url": absolute_url("compliance:update", slug=content["slug"]),
        "updates_url": absolute_url("compliance:updates"),
        "subscribe_url": absolute_url("subscriptions:subscribe"),
    }
    subject = f"{UpdateCategory(category).label} update: {content['title']}"
    sent = 0
    for subscriber in update_recipients(
        update_id=update_id, category=category, published_at=publication.first_published_at
    ):
        try:
            with transaction.atomic():
                mail = _queue(subscriber, template="update_notice", subject=subject, context=context)
                UpdateNotice.objects.create(
                    update_id=update_id,
                    subscriber=subscriber,
                    mail=mail,
                    category=category,
                    created_at=timezone.now(),
                )
        except IntegrityError:
            continue  # another run wrote this notice first
        sent += 1
    logger.info("Update %s: %s notices written", update_id, sent)
    return sent


# ---------------------------------------------------------------- objections


def _day(moment: dt.datetime) -> str:
    return dateformat.format(timezone.localtime(moment), "j F Y")


def objection_window_check(publication: Publication, *, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    closes = objection_closes_at(publication)
    if now > closes:
        raise ValidationError(
            f"The objection period for this change closed on "
            f"{_day(closes)}. Objections can no longer be made through this form.",
            code="objection_window_closed",
        )


def _objecting_customer(data: dict[str, Any]):
    """The customer whose confirmed contact wrote the objection, if any."""
    contact = contact_for_address(str(data.get("requester_email") or ""))
    return contact.customer if contact is not None else None


def objection_submit(
    *,
    publication: Publication,
    subprocessor_slug: str,
    data: dict[str, Any],
    submission_token: str,
    ip: str | None = None,
) -> Ticket:
    """Record an objection to a subprocessor change as a ticket staff work like any request.

    Refused when the publication changes no such subprocessor ("subprocessor_not_changed")
    or the window has closed ("objection_window_closed"). A retried submission
    (same token) returns the ticket it made.
    Side effects: the ticket (kind subprocessor_objection) with its mails, as
    `ticket_submit`; a SubprocessorObjection linking it to the publication,
    and to the customer when the address is a confirmed customer contact;
    after commit, `ObjectionFiled` for a new objection.
    """
    changes = publication_subprocessor_changes(publication)
    if subprocessor_slug not in changes.concerned:
        raise ValidationError("Choose a subprocessor this change concerns.", code="subprocessor_not_changed")
    objection_window_check(publication)
    name = changes.concerned[subprocessor_slug]
    with transaction.atomic():
        ticket, _ = ticket_submit(
            kind=TicketKind.SUBPROCESSOR_OBJECTION,
            data={**data, "publication_version": publication.version, "subprocessor": subprocessor_slug},
            submission_token=submission_token,
            ip=ip,
        )
        objection, created = SubprocessorObjection.objects.get_or_create(
            ticket=ticket,
            defaults={
                "publication": publication,
                "subprocessor_slug": subprocessor_slug,
                "subprocessor_name": name,
                "customer": _objecting_customer(data),
                "created_at": ticket.received_at,
            },
        )
        if created:
            objection_filed.send_on_commit(
                ObjectionFiled(
                    objection_id=objection.pk,
                    reference=ticket.reference,
                    publication_version=publication.version,
                    subprocessor_slug=subprocessor_slug,
                )
            )
    return ticket
