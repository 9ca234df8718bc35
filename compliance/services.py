"""Every write to page content goes through here, with an actor and a reason.

Each write runs in a transaction and leaves exactly one history row that names
the acting user and the reason for the change.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.formats import date_format

from core.history import stamp_history

from .diff import snapshots_differ
from .enums import PUBLICATION_REQUEST_TRANSITIONS, PublicationRequestStatus
from .events import PublicationApproved, UpdatePublished, publication_approved, update_published
from .live import live_state_forget
from .models import (
    ONE_PENDING_REQUEST,
    ONE_PENDING_UPDATE_REQUEST,
    Certification,
    ContactRoute,
    Control,
    DataHandlingRow,
    GdprFact,
    Organization,
    Publication,
    PublicationRequest,
    Section,
    Subprocessor,
    Update,
    UpdatePublication,
    UpdateRequest,
)
from .selectors import (
    editor_ids_since,
    latest_publication,
    latest_update_publication,
    live_publication,
    scheduled_publications,
    update_concern_choices,
    update_editor_ids,
)
from .snapshot import build_snapshot, snapshot_fingerprint
from .tasks import publication_go_live

REASON_MAX_LENGTH = 500
_M = TypeVar("_M", bound=models.Model)

SEED_REASON = "initial content import"


def clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            "Give a reason for this change; it is recorded in the history.",
            code="reason_required",
        )
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(f"Keep the reason under {REASON_MAX_LENGTH} characters.", code="reason_too_long")
    return reason


def content_save(*, obj: _M, actor: User, reason: str) -> _M:
    """Validate and save a content row (create or update).

    Side effects: one history row carrying `actor` and `reason`.
    """
    reason = clean_reason(reason)
    obj.full_clean()
    with transaction.atomic():
        stamp_history(obj, actor=actor, reason=reason)
        obj.save()
    return obj


def content_delete(*, obj: models.Model, actor: User, reason: str) -> None:
    """Delete a content row.

    Side effects: one history row of type "deleted" carrying `actor` and `reason`.
    """
    reason = clean_reason(reason)
    with transaction.atomic():
        stamp_history(obj, actor=actor, reason=reason)
        obj.delete()


def content_get_or_create(
    *,
    model: type[models.Model],
    lookup: dict[str, Any],
    values: dict[str, Any],
    actor: User,
    reason: str,
) -> tuple[models.Model, bool]:
    """Create the row matching `lookup` with `values` unless it exists.

    An existing row is left as it is, so staff edits are never overwritten.
    Side effects: one history row for a created row; none otherwise.
    """
    existing = model._default_manager.filter(**lookup).first()
    if existing is not None:
        return existing, False
    obj = model(**lookup, **values)
    return content_save(obj=obj, actor=actor, reason=reason), True


def seed_load(*, data: dict[str, Any], actor: User, reason: str = SEED_REASON) -> dict[str, int]:
    """Load page content from a seed document; rows that exist are left alone.

    Returns how many rows were created per kind. Running it twice creates
    nothing the second time. Side effects: one history row per created row.
    """

    created: dict[str, int] = {}

    def put(kind: str, model: type[models.Model], lookup: dict[str, Any], values: dict[str, Any]) -> None:
        _, was_created = content_get_or_create(model=model, lookup=lookup, values=values, actor=actor, reason=reason)
        created[kind] = created.get(kind, 0) + int(was_created)

    with transaction.atomic():
        put("organization", Organization, {"singleton": True}, dict(data["organization"]))
        for row in data["sections"]:
            row = dict(row)
            put("sections", Section, {"key": row.pop("key")}, row)
        sections = {s.key: s for s in Section.objects.all()}
        for row in data["controls"]:
            row = dict(row)
            row["section"] = sections[row["section"]]
            put("controls", Control, {"slug": row.pop("slug")}, row)
        for kind, model in (
            ("certifications", Certification),
            ("subprocessors", Subprocessor),
            ("data_handling", DataHandlingRow),
            ("gdpr", GdprFact),
            ("contact_routes", ContactRoute),
        ):
            for row in data[kind]:
                row = dict(row)
                put(kind, model, {"slug": row.pop("slug")}, row)
    return created


# --- Publishing ----------------------------------------------------------------

SUMMARY_MAX_LENGTH = 1000
INITIAL_PUBLICATION_SUMMARY = "Initial publication"


def clean_summary(summary: str | None) -> str:
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError(
            "Say in a sentence what changes for readers; it is shown in the public changelog.",
            code="summary_required",
        )
    if len(summary) > SUMMARY_MAX_LENGTH:
        raise ValidationError(f"Keep the summary under {SUMMARY_MAX_LENGTH} characters.", code="summary_too_long")
    return summary


def _require_perm(actor: User, perm: str, action: str) -> None:
    if not (actor.is_active and actor.has_perm(perm)):
        raise PermissionDenied(f"You are not allowed to {action}.")


def _ensure_something_to_publish(draft: dict[str, Any], now: datetime) -> None:
    """Refuse a publication that would change nothing. Publishing the live
    content again is allowed while a version is scheduled: it overtakes (and so
    cancels) the scheduled one."""
    live = live_publication(now)
    if live is not None and not snapshots_differ(live.snapshot, draft) and not scheduled_publications(now):
        raise ValidationError(
            "The draft is the same as the live page: there is nothing to publish.",
            code="nothing_to_publish",
        )


def four_eyes_require(
    *,
    requested_by_id: int,
    actor: User,
    editor_ids: Callable[[], set[int]],
    requester_message: str,
    editor_message: Callable[[], str],
) -> None:
    """The four-eyes rule, for anything a second person approves: with
    settings.PUBLISH_FOUR_EYES on, `actor` is neither the requester nor one of
    `editor_ids()` (who made a change that what is approved carries). Raises
    ValidationError `four_eyes_requester` or `four_eyes_editor`."""
    if not settings.PUBLISH_FOUR_EYES:
        return
    if actor.pk == requested_by_id:
        raise ValidationError(requester_message, code="four_eyes_requester")
    if actor.pk in editor_ids():
        raise ValidationError(editor_message(), code="four_eyes_editor")


def four_eyes_check(*, requested_by_id: int, actor: User, frozen_at: datetime | None = None) -> None:
    """Raise a ValidationError saying why `actor` may not approve, if so.

    With four-eyes on (settings.PUBLISH_FOUR_EYES), the approver is neither the
    requester nor anyone who made a change that the snapshot under review
    carries: a change after the newest publication's snapshot and up to
    `frozen_at`, when the request froze its snapshot (None: up to now).
    Someone who edited only after the request may approve it: their edit is
    not in it.
    """
    latest = latest_publication()

    def editor_message() -> str:
        since = (
            f"since version {latest.version} was frozen on "
            f"{date_format(timezone.localtime(latest.snapshot_taken_at), 'j F Y, H:i')}"
            if latest
            else "and nothing has been published yet"
        )
        return (
            f"You edited the content this request publishes ({since}). With four-eyes review on, "
            "someone who did not edit it must approve."
        )

    four_eyes_require(
        requested_by_id=requested_by_id,
        actor=actor,
        editor_ids=lambda: editor_ids_since(latest.snapshot_taken_at if latest else None, until=frozen_at),
        requester_message="You asked for this publication. With four-eyes review on, someone else must approve it.",
        editor_message=editor_message,
    )


def _publication_create(
    *,
    snapshot: dict[str, Any],
    summary: str,
    requested_by: User,
    approved_by: User,
    snapshot_taken_at: datetime,
    now: datetime,
    effective_at: datetime,
) -> Publication:
    latest = Publication.objects.order_by("-version").values_list("version", flat=True).first()
    publication = Publication.objects.create(
        version=(latest or 0) + 1,
        snapshot=snapshot,
        summary=summary,
        requested_by=requested_by,
        approved_by=approved_by,
        requested_by_username=requested_by.get_username(),
        approved_by_username=approved_by.get_username(),
        snapshot_taken_at=snapshot_taken_at,
        approved_at=now,
        effective_at=effective_at,
    )
    # Enqueued in the same transaction: the announcement cannot be lost, nor
    # sent for a publication that was rolled back.
    publication_go_live.using(run_after=effective_at).enqueue(publication.pk)
    publication_approved.send_on_commit(
        PublicationApproved(publication_id=publication.pk, version=publication.version, effective_at=effective_at)
    )
    # This process serves it at once; every other within LIVE_MEMO_SECONDS.
    live_state_forget()
    transaction.on_commit(live_state_forget)
    return publication


def publication_request(*, summary: str, actor: User) -> PublicationRequest:
    """Ask for the current draft to be published, exactly as it stands now.

    The draft is frozen into the request (snapshot and fingerprint): the
    approver reviews that snapshot and approval publishes it, whatever is
    edited meanwhile; later edits need a new request.
    Side effects: one pending PublicationRequest (at most one exists at a time).
    Raises ValidationError `request_pending` when one is already waiting, also
    when another request was made at the same moment.
    """
    _require_perm(actor, "compliance.request_publication", "ask for publication")
    summary = clean_summary(summary)
    now = timezone.now()
    with transaction.atomic():
        if PublicationRequest.objects.filter(status=PublicationRequestStatus.PENDING).exists():
            raise ValidationError(
                "A publication request is already awaiting approval; it covers the whole draft.",
                code="request_pending",
            )
        snapshot = build_snapshot()
        _ensure_something_to_publish(snapshot, now)
        try:
            # Two requests made at once both pass the check above; the database's
            # one-pending constraint admits one. The savepoint keeps a caller's
            # transaction usable after the refusal.
            with transaction.atomic():
                return PublicationRequest.objects.create(
                    summary=summary,
                    requested_by=actor,
                    requested_at=now,
                    snapshot=snapshot,
                    snapshot_sha256=snapshot_fingerprint(snapshot),
                    snapshot_taken_at=now,
                )
        except IntegrityError as exc:
            if ONE_PENDING_REQUEST not in str(exc):
                raise
            raise ValidationError(
                "Another publication request was made at the same moment and is awaiting approval; "
                "it covers the whole draft.",
                code="request_pending",
            ) from exc


_Request = TypeVar("_Request", PublicationRequest, UpdateRequest)


def _pending_for_decision(model: type[_Request], request_id: int) -> _Request:
    """Lock a request that is still waiting for a decision; refuse any other."""
    try:
        pending = model._default_manager.select_for_update().get(pk=request_id)
    except model.DoesNotExist as exc:
        raise ValidationError(f"No such {model._meta.verbose_name}.", code="not_found") from exc
    if PublicationRequestStatus.APPROVED not in PUBLICATION_REQUEST_TRANSITIONS[pending.status]:
        raise ValidationError(f"This request is already {pending.get_status_display().lower()}.", code="not_pending")
    return pending


def _pending_request_for_update(request_id: int) -> PublicationRequest:
    return _pending_for_decision(PublicationRequest, request_id)


def publication_approve(
    *,
    request_id: int,
    actor: User,
    effective_at: datetime | None = None,
    fingerprint: str | None = None,
) -> Publication:
    """Approve a pending request: its frozen snapshot becomes the next version.

    What goes live is exactly the snapshot the request froze, also when
    `effective_at` lies in the future and whatever was edited since: what the
    approver reviewed is what the public sees. `fingerprint`, when given (the
    admin always gives it), is the fingerprint of the snapshot the approver
    was shown; approval is refused if it is not this request's.
    `effective_at=None` publishes at once.
    Side effects: a Publication row; the request marked approved; a go-live
    task enqueued for `effective_at` (it sends `PublicationLive`); after
    commit, `PublicationApproved` (subscriptions queues its notices).
    """
    _require_perm(actor, "compliance.approve_publication", "approve publications")
    now = timezone.now()
    if effective_at is not None and effective_at <= now:
        raise ValidationError(
            "A scheduled publication needs a moment in the future; to publish now, choose “now”.",
            code="effective_at_past",
        )
    with transaction.atomic():
        pub_request = _pending_request_for_update(request_id)
        if pub_request.snapshot is None or pub_request.snapshot_taken_at is None:
            raise ValidationError(
                "This request was made before requests froze the draft they publish. "
                "Reject it and ask for publication again.",
                code="request_not_frozen",
            )
        if fingerprint is not None and fingerprint != pub_request.snapshot_sha256:
            raise ValidationError(
                "What you reviewed is not what this request publishes. Open the request again and review it.",
                code="fingerprint_mismatch",
            )
        four_eyes_check(
            requested_by_id=pub_request.requested_by_id, actor=actor, frozen_at=pub_request.snapshot_taken_at
        )
        _ensure_something_to_publish(pub_request.snapshot, now)
        publication = _publication_create(
            snapshot=pub_request.snapshot,
            summary=pub_request.summary,
            requested_by=pub_request.requested_by,
            approved_by=actor,
            snapshot_taken_at=pub_request.snapshot_taken_at,
            now=now,
            effective_at=effective_at or now,
        )
        pub_request.status = PublicationRequestStatus.APPROVED
        pub_request.decided_by = actor
        pub_request.decided_at = now
        pub_request.publication = publication
        pub_request.save()
    return publication


def publication_reject(*, request_id: int, actor: User, reason: str) -> PublicationRequest:
    """Turn a pending request down with a reason the requester can read.

    Side effects: the request marked rejected with who, when and why.
    """
    _require_perm(actor, "compliance.approve_publication", "reject publication requests")
    reason = clean_reason(reason)
    with transaction.atomic():
        pub_request = _pending_request_for_update(request_id)
        pub_request.status = PublicationRequestStatus.REJECTED
        pub_request.decided_by = actor
        pub_request.decided_at = timezone.now()
        pub_request.rejection_reason = reason
        pub_request.save()
    return pub_request


def publication_publish_initial(*, actor: User) -> Publication | None:
    """Publish the content as version 1 when nothing was ever published.

    For the seed loader: the first content of a new installation goes live
    without review (there is nothing live to protect yet). Returns None, and
    changes nothing, once any publication exists.
    Side effects: version 1, its go-live task and, after commit, `PublicationApproved`.
    """
    with transaction.atomic():
        if Publication.objects.exists():
            return None
        now = timezone.now()
        return _publication_create(
            snapshot=build_snapshot(),
            summary=INITIAL_PUBLICATION_SUMMARY,
            requested_by=actor,
            approved_by=actor,
            snapshot_taken_at=now,
            now=now,
            effective_at=now,
        )


# --- Updates ---------------------------------------------------------------------
#
# An update is written like page content (each change with a reason) and made
# public like a publication: an editor asks, which freezes its text with a
# fingerprint; a second person approves exactly that text. The same request
# states, transitions, four-eyes rule and refusals as publications apply.


def _published_slug_check(obj: Update) -> None:
    if obj.pk is None:
        return
    stored = Update.objects.filter(pk=obj.pk).values_list("slug", flat=True).first()
    if stored is not None and stored != obj.slug and UpdatePublication.objects.filter(update_id=obj.pk).exists():
        raise ValidationError(
            "This update has been published at its address; keep its slug so links to it keep working.",
            code="slug_published",
        )


def _concerns_check(obj: Update) -> None:
    stored = Update.objects.filter(pk=obj.pk).values_list("concerns", flat=True).first() if obj.pk else None
    known = {ref for _, refs in update_concern_choices() for ref, _ in refs}
    unknown = sorted(set(obj.concerns) - set(stored or []) - known)
    if unknown:
        raise ValidationError(
            f"These are not sections or items of the page: {', '.join(unknown)}.", code="concerns_unknown"
        )


def update_check(obj: Update) -> None:
    """The rules an update's draft keeps beyond its fields (forms call it too):
    a published update keeps its slug; it concerns only sections and items
    the page has (references it already held may have been retired since)."""
    _published_slug_check(obj)
    _concerns_check(obj)


def update_save(*, obj: Update, actor: User, reason: str) -> Update:
    """Create or change an update's draft. Nothing of it is public until a
    second person approves a request (`update_request`, `update_approve`).

    Side effects: one history row carrying `actor` and `reason`.
    """
    clean_reason(reason)
    obj.concerns = sorted(set(obj.concerns or []))
    update_check(obj)
    return content_save(obj=obj, actor=actor, reason=reason)


def update_delete(*, obj: Update, actor: User, reason: str) -> None:
    """Delete a draft update that was never asked for. Refused
    (`update_has_requests`) once a request exists: the request, and any
    publication, are evidence of it."""
    if UpdateRequest.objects.filter(update_id=obj.pk).exists():
        raise ValidationError(
            "This update was asked for or published; it stays, with its history.", code="update_has_requests"
        )
    content_delete(obj=obj, actor=actor, reason=reason)


def update_request(*, update_id: int, actor: User) -> UpdateRequest:
    """Ask for an update to be published exactly as it stands now.

    Its text is frozen into the request with its fingerprint; later edits need
    a new request. Refused: `nothing_to_publish` when the text is the one
    already published, `request_pending` when a request for it is waiting
    (also one made at the same moment).
    Side effects: one pending UpdateRequest and its history row.
    """
    _require_perm(actor, "compliance.request_update", "ask for updates to be published")
    now = timezone.now()
    with transaction.atomic():
        try:
            update = Update.objects.select_for_update().get(pk=update_id)
        except Update.DoesNotExist as exc:
            raise ValidationError("No such update.", code="not_found") from exc
        content = update.frozen_content()
        fingerprint = snapshot_fingerprint(content)
        published = latest_update_publication(update.pk)
        if published is not None and published.content_sha256 == fingerprint:
            raise ValidationError(
                "This text is the one already published: there is nothing to publish.", code="nothing_to_publish"
            )
        if UpdateRequest.objects.filter(update=update, status=PublicationRequestStatus.PENDING).exists():
            raise ValidationError(
                "A request to publish this update is already awaiting approval.", code="request_pending"
            )
        request = UpdateRequest(
            update=update,
            content=content,
            content_sha256=fingerprint,
            requested_by=actor,
            requested_at=now,
        )
        stamp_history(request, actor=actor, reason="publication asked for")
        try:
            with transaction.atomic():
                request.save()
        except IntegrityError as exc:
            if ONE_PENDING_UPDATE_REQUEST not in str(exc):
                raise
            raise ValidationError(
                "Another request to publish this update was made at the same moment and is awaiting approval.",
                code="request_pending",
            ) from exc
    return request


def update_four_eyes_check(*, request: UpdateRequest, actor: User) -> None:
    """Raise a ValidationError saying why `actor` may not approve `request`, if
    so: the publications' rule (`four_eyes_require`), where the editors are
    those who changed this update after its last approved text was frozen and
    up to this request."""
    published = latest_update_publication(request.update_id)
    four_eyes_require(
        requested_by_id=request.requested_by_id,
        actor=actor,
        editor_ids=lambda: update_editor_ids(
            request.update_id,
            since=published.content_taken_at if published else None,
            until=request.requested_at,
        ),
        requester_message="You asked for this update to be published. With four-eyes review on, someone else must approve it.",
        editor_message=lambda: (
            "You edited the text this request publishes. With four-eyes review on, someone who did not edit it must approve."
        ),
    )


def update_approve(*, request_id: int, actor: User, fingerprint: str | None = None) -> UpdatePublication:
    """Approve a pending update request: its frozen text is public from now.

    `fingerprint`, when given (the admin always gives it), is the fingerprint
    of the text the approver was shown; approval is refused
    (`fingerprint_mismatch`) if it is not this request's.
    Side effects: an UpdatePublication (the next revision of the update); the
    request marked approved, with its history row; after commit,
    `UpdatePublished` (subscriptions mails the subscribers of its category).
    """
    _require_perm(actor, "compliance.approve_update", "approve updates")
    now = timezone.now()
    with transaction.atomic():
        request = _pending_for_decision(UpdateRequest, request_id)
        stored = snapshot_fingerprint(request.content)
        if (fingerprint is not None and fingerprint != request.content_sha256) or stored != request.content_sha256:
            raise ValidationError(
                "What you reviewed is not what this request publishes. Open the request again and review it.",
                code="fingerprint_mismatch",
            )
        update_four_eyes_check(request=request, actor=actor)
        previous = latest_update_publication(request.update_id)
        publication = UpdatePublication.objects.create(
            update_id=request.update_id,
            revision=(previous.revision if previous else 0) + 1,
            content=request.content,
            content_sha256=request.content_sha256,
            requested_by_id=request.requested_by_id,
            approved_by=actor,
            requested_by_username=request.requested_by.get_username(),
            approved_by_username=actor.get_username(),
            content_taken_at=request.requested_at,
            published_at=now,
            first_published_at=previous.first_published_at if previous else now,
        )
        request.status = PublicationRequestStatus.APPROVED
        request.decided_by = actor
        request.decided_at = now
        request.publication = publication
        stamp_history(request, actor=actor, reason="approved and published")
        request.save()
        update_published.send_on_commit(
            UpdatePublished(update_id=request.update_id, category=str(request.content["category"]))
        )
        # This server shows the update at once; every other within the memo's second.
        transaction.on_commit(live_state_forget)
    return publication


def update_reject(*, request_id: int, actor: User, reason: str) -> UpdateRequest:
    """Turn a pending update request down with a reason the requester reads.

    Side effects: the request marked rejected with who, when and why (its history row).
    """
    _require_perm(actor, "compliance.approve_update", "reject update requests")
    reason = clean_reason(reason)
    with transaction.atomic():
        request = _pending_for_decision(UpdateRequest, request_id)
        request.status = PublicationRequestStatus.REJECTED
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.rejection_reason = reason
        stamp_history(request, actor=actor, reason=reason)
        request.save()
    return request
