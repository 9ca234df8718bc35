"""Public page under /customers/: a contact confirms their address.

A GET of the link only shows a button (mail scanners fetch links); the POST
confirms. The page is never cached or indexed and leaks no Referer.
"""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from core.http import SAME_ORIGIN, mark_no_store
from core.tokens import RAW_TOKEN_MAX_LENGTH, token_hash

from . import services
from .models import Contact


def _message(request: HttpRequest, heading: str, *paragraphs: str, status: int = 200) -> HttpResponse:
    return mark_no_store(
        render(request, "subscriptions/message.html", {"heading": heading, "paragraphs": paragraphs}, status=status),
        referrer_policy=SAME_ORIGIN,
    )


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        pending = len(token) <= RAW_TOKEN_MAX_LENGTH and (
            Contact.objects.filter(confirm_token_hash=token_hash(token), removed_at__isnull=True).exists()
        )
        if pending:
            return mark_no_store(render(request, "customers/confirm.html"), referrer_policy=SAME_ORIGIN)
    else:
        try:
            services.contact_confirm(raw_token=token)
        except ValidationError:
            pass
        else:
            return _message(
                request,
                "Your address is confirmed",
                "You will receive the notices your organization's agreement with us provides for "
                "(subprocessor changes, security incidents), according to your role.",
            )
    return _message(
        request,
        "This link does not work",
        services.LINK_INVALID,
        "Ask your contact at our company for a new link.",
        status=404,
    )
