"""Public side of documents: downloads and access requests.

Files are served only for what the live publication lists, always as an
attachment with a fixed content type, `nosniff` and a sandboxing CSP, so a
file can never run as a page of this site. Gated downloads need a valid,
unexpired, unrevoked grant for that very document; each is logged, and
never cached. One answer for every refused link, naming nothing.
"""

from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods

from compliance.enums import DocumentVisibility
from core.http import mark_no_store
from core.intake import intake_submit
from core.ratelimits import client_ip
from core.storage import private_storage
from requests_app.models import Ticket
from requests_app.views import confirm_submission

from . import services
from .forms import AccessRequestForm
from .selectors import listed_file_name, live_listing


def _not_available(request: HttpRequest) -> HttpResponse:
    response = render(
        request,
        "subscriptions/message.html",
        {
            "heading": "This document is not available",
            "paragraphs": [
                "The link is not valid, has expired or was withdrawn, or the document is no longer offered.",
                "You can ask for access again from the Documents section of the trust center.",
            ],
        },
        status=404,
    )
    return mark_no_store(response)


def _file_response(entry: dict[str, Any]) -> FileResponse | None:
    name = listed_file_name(entry)
    if name is None:
        return None
    try:
        handle = private_storage().open(name, "rb")
    except FileNotFoundError:
        return None
    response = FileResponse(handle, as_attachment=True, filename=f"{entry['slug']}.pdf", content_type="application/pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_GET
def public_download(request: HttpRequest, slug: str) -> HttpResponseBase:
    """A public document, as the live page lists it."""
    entry = live_listing(slug)
    if entry is None or entry.get("visibility") != DocumentVisibility.PUBLIC:
        return _not_available(request)
    response = _file_response(entry)
    if response is None:
        return _not_available(request)
    patch_cache_control(response, public=True, max_age=settings.PUBLIC_CACHE_MAX_AGE)
    return response


@require_GET
def gated_download(request: HttpRequest, slug: str, token: str) -> HttpResponseBase:
    """A gated document through the private link of a grant; logged."""
    grant = services.grant_for_link(document_slug=slug, raw_token=token)
    entry = live_listing(slug) if grant is not None else None
    if grant is None or entry is None or entry.get("visibility") != DocumentVisibility.GATED:
        return _not_available(request)
    response = _file_response(entry)
    if response is None:
        return _not_available(request)
    services.download_record(
        grant=grant,
        sha256=entry["sha256"],
        ip=client_ip(request) or None,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    return mark_no_store(response)


FIELD_OF_ERROR = {"freemail_blocked": "requester_email"}


@require_http_methods(["GET", "POST"])
def request_access(request: HttpRequest, slug: str) -> HttpResponse:
    """Ask for a gated document: name, work email, company, and the NDA."""
    document = services.gated_listing(slug)
    if document is None:
        return _not_available(request)
    nda = services.active_nda()
    if nda is None:
        return render(
            request,
            "subscriptions/message.html",
            {
                "heading": "Requests are closed for now",
                "paragraphs": [
                    "We cannot take access requests at the moment. Please write to us through the "
                    "contact routes on the trust center."
                ],
            },
            status=503,
        )
    status = 200
    if request.method == "POST":
        form = AccessRequestForm(request.POST)
        status = 400
        if form.is_valid():
            outcome = _submit(request, slug, form)
            if isinstance(outcome, HttpResponse):
                return outcome
            status = outcome
    else:
        form = AccessRequestForm(initial={"nda_version": nda.pk})
    return render(
        request,
        "documents/request_access.html",
        {"document": document, "nda": nda, "form": form, "grant_days": settings.DOCUMENT_GRANT_DAYS},
        status=status,
    )


def _submit(request: HttpRequest, slug: str, form: AccessRequestForm) -> HttpResponse | int:
    return intake_submit(
        request,
        form,
        existing=lambda token: Ticket.objects.filter(submission_token=token).first(),
        submit=lambda token, ip: services.access_request_submit(
            document_slug=slug,
            data=form.ticket_data(),
            nda_version_id=form.cleaned_data["nda_version"],
            submission_token=token,
            ip=ip,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        ),
        done=lambda ticket: confirm_submission(request, ticket),
        refused=lambda exc: (FIELD_OF_ERROR.get(exc.code or ""), 400),
    )
