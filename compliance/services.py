"""Every write to page content goes through here, with an actor and a reason.

Each write runs in a transaction and leaves exactly one history row that names
the acting user and the reason for the change.
"""

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
from .events import PublicationApproved, publication_approved
from .live import live_state_forget
from .models import (
    ONE_PENDING_REQUEST,
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
)
from .selectors import editor_ids_since, latest_publication, live_publication, scheduled_publications
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


def four_eyes_check(*, requested_by_id: int, actor: User, frozen_at: datetime | None = None) -> None:
    """Raise a ValidationError saying why `actor` may not approve, if so.

    With four-eyes on (settings.PUBLISH_FOUR_EYES), the approver is neither the
    requester nor anyone who made a change that the snapshot under review
    carries: a change after the newest publication's snapshot and up to
    `frozen_at`, when the request froze its snapshot (None: up to now).
    Someone who edited only after the request may approve it: their edit is
    not in it.
    """
    if not settings.PUBLISH_FOUR_EYES:
        return
    if actor.pk == requested_by_id:
        raise ValidationError(
            "You asked for this publication. With four-eyes review on, someone else must approve it.",
            code="four_eyes_requester",
        )
    latest = latest_publication()
    if actor.pk in editor_ids_since(latest.snapshot_taken_at if latest else None, until=frozen_at):
        since = (
            f"since version {latest.version} was frozen on "
            f"{date_format(timezone.localtime(latest.snapshot_taken_at), 'j F Y, H:i')}"
            if latest
            else "and nothing has been published yet"
        )
        raise ValidationError(
            f"You edited the content this request publishes ({since}). With four-eyes review on, "
            "someone who did not edit it must approve.",
            code="four_eyes_editor",
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


def _pending_request_for_update(request_id: int) -> PublicationRequest:
    try:
        pub_request = PublicationRequest.objects.select_for_update().get(pk=request_id)
    except PublicationRequest.DoesNotExist as exc:
        raise ValidationError("No such publication request.", code="not_found") from exc
    if PublicationRequestStatus.APPROVED not in PUBLICATION_REQUEST_TRANSITIONS[pub_request.status]:
        raise ValidationError(
            f"This request is already {pub_request.get_status_display().lower()}.", code="not_pending"
        )
    return pub_request


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
