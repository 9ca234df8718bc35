"""Public side of requests: intake forms, confirmation, identity verification,
the requester's status page and the download of files sent to the requester.

Views validate with forms and write only through `services`. Pages reached by a
secret link (status, verification, downloads) are never cached or indexed, never
send the link to another site in a Referer header, and answer a wrong link with
one page that names no ticket.
"""

import re
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_http_methods

from compliance.selectors import published_organization
from core import tokens
from core.database import DATABASE_UNAVAILABLE
from core.http import SAME_ORIGIN, mark_no_store
from core.intake import IntakeForm, intake_submit

from .. import services
from ..enums import ACTIVE_STATUSES, DATA_SUBJECT_KINDS, TicketKind
from ..forms import (
    DATA_RIGHTS,
    DATA_RIGHTS_BY_SLUG,
    DataRight,
    form_for_kind,
)
from ..models import Ticket, VerificationToken

# The confirmation page's cookie (`confirm_submission`): signed, this browser's only, for an hour.
SUBMITTED_COOKIE = "tc_submitted"
_SUBMITTED_SALT = "requests_app.views.submitted"
SUBMITTED_MAX_AGE = 3600
VERIFIED_SESSION_KEY = "requests_app:verified"

# Tokens in links are URL-safe base64 or hex; anything else is not ours.
LINK_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,128}$")

# Content types a download may carry, by extension; anything else goes out as
# opaque bytes.
DOWNLOAD_TYPES = {".pdf": "application/pdf"}


def _link_invalid(request: HttpRequest, *, purpose: str) -> HttpResponse:
    """One answer for a wrong, used or expired link: same text, same status."""
    return mark_no_store(
        render(request, "requests_app/link_invalid.html", {"purpose": purpose, **_promises()}, status=404)
    )


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


def confirm_submission(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """Redirect to the confirmation page of a ticket just submitted (from any public form).

    The reference travels in a signed cookie of this browser, not in the URL
    (the confirmation page cannot be found by guessing or counting) and not
    in the session: neither this answer nor the confirmation page needs the
    database, so a submitter whose ticket was committed sees its reference
    even while the database restarts."""
    response = redirect("requests_app:submitted")
    info = {
        "reference": ticket.reference,
        "kind": ticket.kind,
        "needs_verification": ticket.kind in DATA_SUBJECT_KINDS and ticket.verified_at is None,
    }
    response.set_cookie(
        SUBMITTED_COOKIE,
        signing.dumps(info, salt=_SUBMITTED_SALT),
        max_age=SUBMITTED_MAX_AGE,
        path=reverse("requests_app:submitted"),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _submitted_info(request: HttpRequest) -> dict[str, Any] | None:
    """What `confirm_submission` signed for this browser, or None (absent, forged or older than an hour)."""
    value = request.COOKIES.get(SUBMITTED_COOKIE)
    if not value:
        return None
    try:
        info = signing.loads(value, salt=_SUBMITTED_SALT, max_age=SUBMITTED_MAX_AGE)
    except signing.BadSignature:
        return None
    return info if isinstance(info, dict) and info.get("kind") in TicketKind.values else None


def _published_organization_if_reachable() -> Any:
    # The header names the published organization; while the database is
    # unavailable it says "Trust center" instead of failing the page.
    try:
        return published_organization()
    except DATABASE_UNAVAILABLE:
        return {}


def _submit(request: HttpRequest, *, kind: str, form: IntakeForm) -> HttpResponse | int:
    """Submit a valid form: the redirect to the confirmation, or the status code
    to re-render the form with (the reason is then on the form, input kept)."""
    return intake_submit(
        request,
        form,
        existing=lambda token: Ticket.objects.filter(submission_token=token, kind=kind).first(),
        submit=lambda token, ip: services.ticket_submit(
            kind=kind, data=form.ticket_data(), submission_token=token, ip=ip
        )[0],
        done=lambda ticket: confirm_submission(request, ticket),
    )


@require_GET
def submitted(request: HttpRequest) -> HttpResponse:
    """The confirmation after a submission, with the ticket's reference. Needs no database."""
    info = _submitted_info(request)
    layout = {"published_organization": SimpleLazyObject(_published_organization_if_reachable)}
    if not info:
        return mark_no_store(
            render(
                request,
                "requests_app/message.html",
                {
                    "heading": "Nothing to show",
                    "paragraphs": [
                        "This page confirms a request right after it is sent from this browser. "
                        "The confirmation mail we sent you holds your reference and a private status link.",
                    ],
                    **layout,
                },
                status=404,
            )
        )
    return mark_no_store(
        render(
            request,
            "requests_app/submitted.html",
            {
                "reference": info["reference"],
                "kind_label": TicketKind(info["kind"]).label,
                "needs_verification": info["needs_verification"],
                "is_data_subject": info["kind"] in DATA_SUBJECT_KINDS,
                **_promises(),
                **layout,
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
        return mark_no_store(render(request, "requests_app/verify.html"), referrer_policy=SAME_ORIGIN)
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
        return mark_no_store(
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
    return mark_no_store(
        render(
            request,
            "requests_app/verified.html",
            {
                "reference": info["reference"],
                "kind_label": TicketKind(info["kind"]).label,
            },
        )
    )
