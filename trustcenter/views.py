from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


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
