"""The pages behind a ticket's private status link: the status page, the
requester's reply and the download of files staff attached."""

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.http import SAME_ORIGIN, mark_no_store
from core.ratelimits import reply_is_limited
from core.text import clean_filename

from .. import selectors, services
from ..enums import DATA_SUBJECT_KINDS, STATES, TicketEventKind, requester_label
from ..forms import (
    RequesterReplyForm,
)
from ..models import Ticket
from . import DOWNLOAD_TYPES, LINK_TOKEN_RE, _link_invalid, _refuse_large_body, _too_many

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
    return mark_no_store(response, referrer_policy=SAME_ORIGIN)


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
    filename = clean_filename(attachment.original_name, ascii_only=True)
    # The type is chosen from an allow-list, never taken from the upload as is.
    content_type = DOWNLOAD_TYPES.get(_extension(filename), "application/octet-stream")
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return mark_no_store(response)


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""
