import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from core.database import is_database_unavailable
from core.ratelimits import retry_after, window_seconds

from .views import database_unavailable

logger = logging.getLogger(__name__)


class RequestBodyLimitMiddleware:
    """Refuse a request whose declared body is larger than MAX_REQUEST_BODY_BYTES.

    Runs before anything reads the body, so an oversized upload costs one
    header check rather than a read into memory or a temporary file. Bodies
    sent without a Content-Length (chunked) are capped later by Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE and the upload handlers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                return HttpResponse(render_to_string("400.html"), status=400)
            if length > settings.MAX_REQUEST_BODY_BYTES:
                response = HttpResponse(render_to_string("413.html"), status=413)
                # The unread body makes the connection unusable for another request.
                response["Connection"] = "close"
                return response
        return self.get_response(request)


class StripNulHeadersMiddleware:
    """Drop NUL characters from request headers before anything stores them.

    User agents and Accept headers end up in text columns (sign-in attempts,
    NDA acceptances, download logs); PostgreSQL refuses NUL in text, which
    would turn a garbled header into a server error.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for key, value in request.META.items():
            if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
                request.META[key] = value.replace("\x00", "")
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Send the Permissions-Policy header (PERMISSIONS_POLICY) on every response.

    The site uses no browser feature behind a permission (camera, location,
    payment, ...), so each one named is denied to the page and to any frame.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.value = ", ".join(f"{feature}=()" for feature in settings.PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.value:
            response.headers.setdefault("Permissions-Policy", self.value)
        return response


class RetryAfterMiddleware:
    """Every 429 answer says when to try again: `Retry-After` in seconds.

    The wait is what the rate limit that refused the request reported (until
    its window frees); for a sign-in lockout, the cool-off; otherwise (a limit
    that reports nothing) the longest window of the configured rates.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 429 and not response.has_header("Retry-After"):
            response["Retry-After"] = str(_retry_after_seconds(request))
        return response


def _retry_after_seconds(request: HttpRequest) -> int:
    noted = retry_after(request)
    if noted is not None:
        return noted
    if getattr(request, "axes_locked_out", False):
        return int(settings.AXES_COOLOFF_TIME.total_seconds())
    rates = (
        settings.REQUEST_RATE_PER_IP,
        settings.REQUEST_RATE_PER_EMAIL,
        settings.SUBSCRIBE_RATE_PER_IP,
        settings.SUBSCRIBE_RATE_PER_EMAIL,
    )
    return max(window_seconds(rate) for rate in rates)


class DatabaseUnavailableMiddleware:
    """Answer 503 with `Retry-After` instead of 500 when a view finds the database
    unavailable (a restart, a failover): the client may try again, and a form
    sent again with its submission token finds what the first attempt filed.

    The page is static and rendered without the request, so it needs no query.
    An error raised by another middleware after the view (a session saved
    while the database is down) reaches `trustcenter.views.server_error`,
    which answers the same page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exception):
            return None
        # The class only: a driver's message can carry a host name or a role.
        logger.warning("Database unavailable (%s): answered 503 to %s", type(exception).__name__, request.path)
        return database_unavailable()
