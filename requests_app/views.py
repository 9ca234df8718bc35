"""Public side of requests: intake forms, confirmation, identity verification,
the requester's status page and the download of files sent to the requester.

Views validate with forms and write only through `services`. Pages reached by a
secret link (status, verification, downloads) are never cached or indexed, never
send the link to another site in a Referer header, and answer a wrong link with
one page that names no ticket.
"""

import re
from typing import Any, TypeVar

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from trustcenter.http import mark_no_store

from . import selectors, services, tokens
from .enums import ACTIVE_STATUSES, DATA_SUBJECT_KINDS, STATES, TicketEventKind, TicketKind, requester_label
from .forms import (
    DATA_RIGHTS,
    DATA_RIGHTS_BY_SLUG,
    DataRight,
    IntakeForm,
    RequesterReplyForm,
    form_for_kind,
)
from .models import Ticket, VerificationToken
from .ratelimits import client_ip, reply_is_limited, submission_is_limited

SUBMITTED_SESSION_KEY = "requests_app:submitted"
VERIFIED_SESSION_KEY = "requests_app:verified"

# Tokens in links are URL-safe base64 or hex; anything else is not ours.
LINK_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,128}$")

# Content types a download may carry, by extension; anything else goes out as
# opaque bytes.
DOWNLOAD_TYPES = {".pdf": "application/pdf"}


_R = TypeVar("_R", bound=HttpResponseBase)


def _private(response: _R, *, referrer_policy: str = "no-referrer") -> _R:
    """Headers for any page reached through a secret link.

    Pages with a form use "same-origin": under "no-referrer" browsers send
    `Origin: null` with the POST, which the CSRF check rightly refuses.
    """
    mark_no_store(response)  # Cache-Control: no-store, X-Robots-Tag, no validators
    response["Referrer-Policy"] = referrer_policy
    return response


def _link_invalid(request: HttpRequest, *, purpose: str) -> HttpResponse:
    """One answer for a wrong, used or expired link: same text, same status."""
    return _private(render(request, "requests_app/link_invalid.html", {"purpose": purpose, **_promises()}, status=404))


def _promises() -> dict[str, int]:
    """What the pages promise, from the same settings the deadlines are computed from."""
    return {
        "dpa_days": settings.DPA_DUE_BUSINESS_DAYS,
        "baa_days": settings.BAA_DUE_BUSINESS_DAYS,
        "dsr_days": settings.DSR_PROMISED_DAYS,
        "verify_days": settings.VERIFICATION_VALID_DAYS,
    }


# --- Index and intake -------------------------------------------------------


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The kinds of request one can make here."""
    return render(request, "requests_app/index.html", {"data_rights": DATA_RIGHTS, **_promises()})


FORM_COPY: dict[str, dict[str, str]] = {
    TicketKind.DPA: {
        "title": "Request a countersigned DPA",
        "lede": "Tell us which company signs our Data Processing Agreement and we return a copy countersigned by us.",
    },
    TicketKind.BAA: {
        "title": "Request a Business Associate Agreement",
        "lede": "If you handle protected health information under HIPAA, a Business Associate "
        "Agreement must be signed before you send such data to us.",
    },
}


@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest, kind: str, right: str | None = None) -> HttpResponse:
    """Show, validate and submit the form for one kind of request."""
    data_right: DataRight | None = None
    if right is not None:
        data_right = DATA_RIGHTS_BY_SLUG.get(right)
        if data_right is None:
            raise Http404("No such data-subject right.")
        kind = data_right.kind
    form_class = form_for_kind(kind)
    form_kwargs: dict[str, Any] = {"right": data_right} if data_right else {}

    status = 200
    if request.method == "POST":
        too_large = _refuse_large_body(request)
        if too_large:
            return too_large
        form = form_class(request.POST, **form_kwargs)
        status = 400
        if form.is_valid():
            outcome = _submit(request, kind=kind, form=form)
            if isinstance(outcome, HttpResponse):
                return outcome
            status = outcome
    else:
        form = form_class(**form_kwargs)

    context = {
        "form": form,
        "kind": kind,
        "right": data_right,
        "is_data_subject": kind in DATA_SUBJECT_KINDS,
        **FORM_COPY.get(kind, {}),
        **_promises(),
    }
    if data_right:
        context.update(title=data_right.title, lede=data_right.summary)
    return render(request, "requests_app/form.html", context, status=status)


def _refuse_large_body(request: HttpRequest) -> HttpResponse | None:
    """Refuse a body larger than any honest answer to these forms (413, nothing made).

    The CSRF check has parsed the body by now; DATA_UPLOAD_MAX_MEMORY_SIZE
    bounds that for every view. This is the tighter bound for the public forms.
    """
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.REQUEST_FORM_MAX_BODY:
        response = render(
            request,
            "requests_app/message.html",
            {
                "heading": "This form is too large",
                "paragraphs": [
                    "What you sent is larger than any answer to this form can be. "
                    "Please shorten the text and try again.",
                ],
                "back": request.path,
            },
            status=413,
        )
        response["Connection"] = "close"  # the unread body leaves the connection unusable
        return response
    return None


TOO_MANY = (
    "Too many requests: we have received several from your network or for this email address "
    "in a short time. Nothing was submitted. Please try again in an hour, or write to us by email."
)


def _too_many(request: HttpRequest, *, back: str) -> HttpResponse:
    return render(
        request,
        "requests_app/message.html",
        {
            "heading": "Too many requests",
            "paragraphs": [
                "We have received several messages from your network in a short time, so we did not accept this one.",
                "Nothing was sent. Please try again in an hour, or write to us by email.",
            ],
            "back": back,
        },
        status=429,
    )


def _remember_submission(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    # The reference travels in the session, not in the URL: the confirmation
    # page cannot be found by guessing or counting.
    request.session[SUBMITTED_SESSION_KEY] = {
        "reference": ticket.reference,
        "kind": ticket.kind,
        "needs_verification": ticket.kind in DATA_SUBJECT_KINDS and ticket.verified_at is None,
    }
    return redirect("requests_app:submitted")


def _submit(request: HttpRequest, *, kind: str, form: IntakeForm) -> HttpResponse | int:
    """Submit a valid form: the redirect to the confirmation, or the status code
    to re-render the form with (the reason is then on the form, input kept)."""
    token = form.cleaned_data["submission_token"]
    # A retried POST (double click, reload) carries the same token: show the
    # ticket it already made, without counting against the rate limits.
    existing = Ticket.objects.filter(submission_token=token, kind=kind).first()
    if existing is not None:
        return _remember_submission(request, existing)
    if submission_is_limited(request, emails=form.emails()):
        form.add_error(None, ValidationError(TOO_MANY, code="rate_limited"))
        return 429
    try:
        ticket, _status_token = services.ticket_submit(
            kind=kind, data=form.ticket_data(), submission_token=token, ip=client_ip(request) or None
        )
    except ValidationError as exc:
        # The form checks everything the service checks; this is a safety net
        # that explains rather than fails.
        form.add_error(None, exc)
        return 400
    return _remember_submission(request, ticket)


@require_GET
def submitted(request: HttpRequest) -> HttpResponse:
    """The confirmation after a submission, with the ticket's reference."""
    info = request.session.get(SUBMITTED_SESSION_KEY)
    if not info:
        return _private(
            render(
                request,
                "requests_app/message.html",
                {
                    "heading": "Nothing to show",
                    "paragraphs": [
                        "This page confirms a request right after it is sent from this browser. "
                        "The confirmation mail we sent you holds your reference and a private status link.",
                    ],
                },
                status=404,
            )
        )
    return _private(
        render(
            request,
            "requests_app/submitted.html",
            {
                "reference": info["reference"],
                "kind_label": TicketKind(info["kind"]).label,
                "needs_verification": info["needs_verification"],
                "is_data_subject": info["kind"] in DATA_SUBJECT_KINDS,
                **_promises(),
            },
        )
    )


# --- Verification -----------------------------------------------------------


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm a data-subject request from the link mailed to the account's address.

    GET only shows a button: mail scanners that fetch links must not use up the
    single-use token. POST verifies.
    """
    if not LINK_TOKEN_RE.match(token):
        return _link_invalid(request, purpose="verify")
    if request.method == "GET":
        if not _verification_pending(token):
            return _link_invalid(request, purpose="verify")
        return _private(render(request, "requests_app/verify.html"), referrer_policy="same-origin")
    try:
        ticket = services.ticket_verify(raw_token=token)
    except ValidationError:
        return _link_invalid(request, purpose="verify")
    request.session[VERIFIED_SESSION_KEY] = {"reference": ticket.reference, "kind": ticket.kind}
    return redirect("requests_app:verified")


def _verification_pending(raw_token: str) -> bool:
    """Whether a POST would verify: read only, so showing the button uses nothing up."""
    return VerificationToken.objects.filter(
        token_hash=tokens.token_hash(raw_token),
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
        ticket__status__in=ACTIVE_STATUSES,  # as services.ticket_verify accepts
    ).exists()


@require_GET
def verified(request: HttpRequest) -> HttpResponse:
    info = request.session.get(VERIFIED_SESSION_KEY)
    if not info:
        return _private(
            render(
                request,
                "requests_app/message.html",
                {
                    "heading": "Nothing to show",
                    "paragraphs": ["This page confirms a verification right after it is made from this browser."],
                },
                status=404,
            )
        )
    return _private(
        render(
            request,
            "requests_app/verified.html",
            {
                "reference": info["reference"],
                "kind_label": TicketKind(info["kind"]).label,
            },
        )
    )


# --- Status page and downloads ---------------------------------------------


def _ticket_for_link(token: str) -> Ticket | None:
    if not LINK_TOKEN_RE.match(token):
        return None
    return selectors.ticket_by_status_token(token)


@require_GET
def status(request: HttpRequest, token: str) -> HttpResponse:
    """The requester's view of one ticket: what they may see, and nothing else."""
    ticket = _ticket_for_link(token)
    if ticket is None:
        return _link_invalid(request, purpose="status")
    return _status_page(request, ticket, token, RequesterReplyForm())


# Events as the requester reads them (staff see the enum labels in the admin).
REQUESTER_EVENT_LABELS: dict[str, str] = {
    TicketEventKind.SUBMITTED: "Request received",
    TicketEventKind.VERIFICATION_REQUESTED: "Confirmation link sent",
    TicketEventKind.VERIFIED: "Request confirmed by you",
    TicketEventKind.STATUS_CHANGED: "Status changed",
    TicketEventKind.EXTENDED: "Deadline extended",
    TicketEventKind.MESSAGE: "Message from us",
    TicketEventKind.REQUESTER_REPLY: "Your reply",
    TicketEventKind.ATTACHMENT_ADDED: "Document added",
}


def _status_page(
    request: HttpRequest, ticket: Ticket, token: str, reply_form: RequesterReplyForm, *, status: int = 200
) -> HttpResponse:
    state = STATES[ticket.status]
    events = [
        (
            event,
            REQUESTER_EVENT_LABELS.get(event.kind, event.get_kind_display()),
            requester_label(event.to_status) if event.kind == TicketEventKind.STATUS_CHANGED else "",
        )
        for event in selectors.ticket_public_events(ticket)
    ]
    attachments = list(selectors.ticket_public_attachments(ticket).order_by("created_at", "id"))
    response = render(
        request,
        "requests_app/status.html",
        {
            "ticket": ticket,
            "token": token,
            "kind_label": ticket.get_kind_display(),
            "status_label": requester_label(ticket.status),
            "notice": state.requester_notice,
            "identity_pending": ticket.identity_pending,
            "events": events,
            "attachments": attachments,
            "is_data_subject": ticket.kind in DATA_SUBJECT_KINDS,
            "can_reply": state.requester_may_reply,
            "form": reply_form,
        },
        status=status,
    )
    # The page holds a form: a "no-referrer" page would POST with Origin: null.
    return _private(response, referrer_policy="same-origin")


REPLY_SEEN_SECONDS = 24 * 3600


@require_POST
def status_reply(request: HttpRequest, token: str) -> HttpResponse:
    """The requester's answer to staff, from the status page (POST-redirect-GET)."""
    ticket = _ticket_for_link(token)
    if ticket is None:
        return _link_invalid(request, purpose="status")
    too_large = _refuse_large_body(request)
    if too_large:
        return too_large
    form = RequesterReplyForm(request.POST)
    if not form.is_valid():
        return _status_page(request, ticket, token, form, status=400)
    if not STATES[ticket.status].requester_may_reply:
        form.add_error(
            None,
            ValidationError(
                "This request is no longer open for replies. Please write to us by email.", code="ticket_not_active"
            ),
        )
        return _status_page(request, ticket, token, form, status=400)
    # A retried POST (double click) carries the same token: send the reply once.
    seen_key = f"requests_app:reply:{form.cleaned_data['submission_token']}"
    if cache.get(seen_key) is None:
        if reply_is_limited(request):
            return _too_many(request, back=reverse("requests_app:status", args=[token]))
        if cache.add(seen_key, ticket.pk, REPLY_SEEN_SECONDS):
            try:
                services.requester_reply(ticket_id=ticket.pk, message=form.cleaned_data["message"])
            except ValidationError as exc:
                cache.delete(seen_key)
                form.add_error(None, exc)
                return _status_page(request, ticket, token, form, status=400)
    messages.success(request, "Your reply was sent. It now shows in the timeline below.")
    return redirect("requests_app:status", token=token)


@require_GET
def attachment_download(request: HttpRequest, token: str, attachment_id: int) -> HttpResponseBase:
    """A file of this ticket, only through this ticket's link, always as a download."""
    ticket = _ticket_for_link(token)
    attachment = None
    if ticket is not None:
        attachment = selectors.ticket_public_attachments(ticket).filter(pk=attachment_id).first()
    if attachment is None:
        return _link_invalid(request, purpose="file")
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        return _link_invalid(request, purpose="file")
    filename = _download_name(attachment.original_name)
    # The type is chosen from an allow-list, never taken from the upload as is.
    content_type = DOWNLOAD_TYPES.get(_extension(filename), "application/octet-stream")
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return _private(response)


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _download_name(name: str) -> str:
    """A file name safe in a header and on any disk: letters, digits, - _ . only."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "document"
    return cleaned[:100]
