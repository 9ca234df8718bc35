import functools
import sys
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views import defaults

from core.database import is_database_unavailable


def _is_rate_limited(exception: Exception | None) -> bool:
    try:
        from django_ratelimit.exceptions import Ratelimited
    except ImportError:  # the rate-limit library is optional for this view
        return False
    return isinstance(exception, Ratelimited)


def permission_denied(request: HttpRequest, exception: PermissionDenied | None = None) -> HttpResponse:
    """403, or 429 with the "slow down" page when a rate limit refused the request.

    The reason is never shown: it could tell a prober what was checked.
    """
    if _is_rate_limited(exception):
        return HttpResponse(render_to_string("429.html", request=request), status=429)
    return HttpResponse(render_to_string("403.html", request=request), status=403)


@functools.cache
def _unavailable_page() -> str:
    # Rendered without the request: no context processor, no session, no query.
    return render_to_string("503.html")


def database_unavailable() -> HttpResponse:
    """503 with `Retry-After` (DATABASE_UNAVAILABLE_RETRY_AFTER seconds): the small
    static page answered while the database cannot be reached. Touches no database."""
    response = HttpResponse(_unavailable_page(), status=503)
    response["Retry-After"] = str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page, or the 503 page when the error is that the database is unavailable.

    Django calls this for an exception no one handled, also one raised by a
    middleware after the view (saving a session while the database restarts),
    which `DatabaseUnavailableMiddleware` cannot see.
    """
    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable()
    return defaults.server_error(request)


_floor_body: bytes | None = None


def bench_floor(request: HttpRequest) -> HttpResponse:
    """Benchmarks only (`BENCH_FLOOR_FILE`): the same bytes on every request, read
    from the file once and then returned from memory; no database, no cache, no
    template. What the framework and its middleware cost, and nothing else."""
    global _floor_body
    if _floor_body is None:
        _floor_body = Path(settings.BENCH_FLOOR_FILE).read_bytes()
    return HttpResponse(_floor_body)
